#!/usr/bin/env node
// `npm test`: the Node tests (node:test), then the browser tests (@web/test-runner in headless
// Chromium), then one line with the total: "N passed, N failed".
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const scratch = mkdtempSync(join(tmpdir(), 'nst-test-'));
const suites = [
  { name: 'node', command: [process.execPath, 'test/run-node-tests.mjs'] },
  { name: 'browser', command: [process.execPath, 'node_modules/@web/test-runner/dist/bin.js'] },
];
const total = { passed: 0, failed: 0, skipped: 0 };
for (const suite of suites) {
  const summaryFile = join(scratch, `${suite.name}.json`);
  console.log(`\n=== ${suite.name} tests ===`);
  const result = spawnSync(suite.command[0], suite.command.slice(1), {
    stdio: 'inherit',
    env: { ...process.env, NST_TEST_SUMMARY: summaryFile },
  });
  const counts = existsSync(summaryFile) ? JSON.parse(readFileSync(summaryFile, 'utf8')) : null;
  if (!counts) {
    console.error(`The ${suite.name} test runner exited (${result.status ?? result.signal}) without reporting results.`);
    total.failed++;
    continue;
  }
  for (const key of Object.keys(total)) total[key] += counts[key];
  if (result.status !== 0 && counts.failed === 0) {
    console.error(`The ${suite.name} test runner exited with ${result.status ?? result.signal} although no test failed.`);
    total.failed++;
  }
}
rmSync(scratch, { recursive: true, force: true });
console.log(`\n${total.passed} passed, ${total.failed} failed${total.skipped ? `, ${total.skipped} skipped` : ''}`);
process.exit(total.failed > 0 ? 1 : 0);
