// The loader's fuzz test (test/node/weights-format-fuzz.test.ts) in Chromium, the same 1000 cases:
// the browser's own SHA-256 (WebCrypto), JSON and typed arrays meet the same damaged models.
import { expect } from 'chai';
import { ARCHITECTURE_PRESETS, WEIGHT_STORAGES, encodeRandomStyleModel } from 'nst-video/model';
import { fuzzLoader } from '../support/model-fuzz.js';

const SEED = 13;
const CASES = 1000;

describe('the model loader against damaged models, in the browser', () => {
  it(`${CASES} damaged models each end within 2 s with an NstModelError (or decode into usable weights), allocating no more than 16 MB at once`, async function () {
    this.timeout(60000);
    const bases = await Promise.all(
      WEIGHT_STORAGES.map((storage) =>
        encodeRandomStyleModel({ architecture: ARCHITECTURE_PRESETS.slim, seed: 5, storage, style: { name: 'fuzz' }, generatedBy: 'fuzz test', shardBytes: 64 * 1024 }),
      ),
    );
    const started = performance.now();
    const report = await fuzzLoader({ bases, seed: SEED, count: CASES, caseLimitMs: 2000, maxAllocationBytes: 16 * 1024 * 1024 });
    const seconds = (performance.now() - started) / 1000;
    console.log(`fuzz seed ${SEED}: ${CASES} cases in ${seconds.toFixed(1)} s; slowest ${report.slowestMs.toFixed(0)} ms; largest allocation ${(report.largestAllocation / 2 ** 20).toFixed(2)} MB`);
    console.log(`outcomes: ${JSON.stringify(report.counts)}`);
    expect(report.failures).to.deep.equal([]);
    expect(Object.keys(report.counts).length, 'different checks reached').to.be.at.least(8);
  });
});
