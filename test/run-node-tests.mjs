#!/usr/bin/env node
// Runs every test/node/*.test.ts with node:test (TypeScript through tsx). Extra arguments are file
// filters: `npm run test:node -- weights` runs the files whose names contain "weights".
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const directory = 'test/node';
const filters = process.argv.slice(2);
const files = readdirSync(directory)
  .filter((name) => name.endsWith('.test.ts'))
  .filter((name) => filters.length === 0 || filters.some((f) => name.includes(f)))
  .map((name) => join(directory, name));
if (files.length === 0) {
  console.error(`No test files in ${directory} match ${filters.join(' ')}`);
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  [
    '--import', 'tsx',
    '--test', '--test-concurrency=1',
    '--test-reporter=spec', '--test-reporter-destination=stdout',
    '--test-reporter=./test/support/summary-reporter.mjs', '--test-reporter-destination=stderr',
    ...files,
  ],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
