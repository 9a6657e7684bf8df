// A node:test reporter that writes {passed, failed, skipped} of leaf tests (not suites) to the
// file named by NST_TEST_SUMMARY, so test/run-all.mjs can print one total for Node and browser.
import { writeFileSync } from 'node:fs';

export default async function* summaryReporter(source) {
  const counts = { passed: 0, failed: 0, skipped: 0 };
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    if (event.data.details?.type === 'suite') continue;
    if (event.data.skip || event.data.todo) counts.skipped++;
    else if (event.type === 'test:pass') counts.passed++;
    else counts.failed++;
  }
  if (process.env.NST_TEST_SUMMARY) writeFileSync(process.env.NST_TEST_SUMMARY, JSON.stringify(counts));
  yield '';
}
