#!/usr/bin/env node
// `npm run bench`: runs every bench/*.bench.ts (through tsx) and bench/*.bench.mjs in turn. Each
// prints one JSON object per line; none fails on speed. Arguments filter by file name:
// `npm run bench -- browser` runs only the files whose names contain "browser".
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

const filters = process.argv.slice(2);
const files = readdirSync('bench')
  .filter((name) => /\.bench\.(ts|mjs)$/.test(name))
  .filter((name) => filters.length === 0 || filters.some((f) => name.includes(f)))
  .sort();
let failures = 0;
for (const file of files) {
  console.error(`# bench/${file}`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', `bench/${file}`], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) {
    failures++;
    console.log(JSON.stringify({ bench: file, error: `exited with ${result.status ?? result.signal}` }));
  }
}
process.exit(failures ? 1 : 0);
