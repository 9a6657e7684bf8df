// The loader against 1000 seeded kinds of damage (issue 13): every damaged model ends quickly with
// an NstModelError naming the problem, or decodes into usable weights; never a hang, another
// error or a huge allocation. The browser runs a shorter series of the same cases.
import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import { ARCHITECTURE_PRESETS, encodeRandomStyleModel, WEIGHT_STORAGES, type EncodedStyleModel } from 'nst-video/model';
import { fuzzLoader } from '../support/model-fuzz.js';

const SEED = 13;
const CASES = 1000;
let bases: EncodedStyleModel[];

before(async () => {
  // Small shards, so that every model has several and shard-list damage has something to hit.
  bases = await Promise.all(
    WEIGHT_STORAGES.map((storage) =>
      encodeRandomStyleModel({ architecture: ARCHITECTURE_PRESETS.slim, seed: 5, storage, style: { name: 'fuzz' }, generatedBy: 'fuzz test', shardBytes: 64 * 1024 }),
    ),
  );
});

it(`${CASES} damaged models each end within 2 s with an NstModelError (or decode into usable weights), allocating no more than 16 MB at once`, async () => {
  const rssBefore = process.memoryUsage().rss;
  const started = performance.now();
  const report = await fuzzLoader({ bases, seed: SEED, count: CASES, caseLimitMs: 2000, maxAllocationBytes: 16 * 1024 * 1024 });
  const seconds = (performance.now() - started) / 1000;
  const rssGrowthMb = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
  console.log(`fuzz seed ${SEED}: ${CASES} cases in ${seconds.toFixed(1)} s; slowest ${report.slowestMs.toFixed(0)} ms; largest allocation ${(report.largestAllocation / 2 ** 20).toFixed(2)} MB; rss +${rssGrowthMb.toFixed(0)} MB`);
  console.log('outcomes:', JSON.stringify(report.counts));
  console.log('damage:', JSON.stringify(report.kinds));
  assert.deepEqual(report.failures, []);
  assert.ok(Object.keys(report.counts).length >= 8, 'the damage reaches many different checks');
});
