// Growing a trained network into a wider, deeper one must keep every picture it paints, and give the
// copied channels different weights so that training can tell them apart.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ARCHITECTURE_PRESETS,
  initialTransformerWeights,
  seededRandom,
  transformerForward,
  transformerWeightSpecs,
  type TransformerArchitecture,
} from 'nst-video/model';
import { cannotWiden, widenTransformerWeights } from '../../trainer/src/training/widen-network.js';
import { tf, useBackend } from '../support/node-backend.js';

const { slim, full } = ARCHITECTURE_PRESETS;

/** A network as training leaves it: norms that are not the identity, an output bias. */
function trainedLikeWeights(arch: TransformerArchitecture, seed: number): Map<string, Float32Array> {
  const weights = initialTransformerWeights(arch, seed);
  const random = seededRandom(seed + 1);
  for (const [name, values] of weights) {
    if (!name.endsWith('/kernel')) for (let i = 0; i < values.length; i++) values[i] += (random() - 0.5) * 0.6;
  }
  return weights;
}

/** The network's output for `pixels` (a 1 x 24 x 20 x 3 image). */
function paint(weights: ReadonlyMap<string, Float32Array>, arch: TransformerArchitecture, pixels: Float32Array): Float32Array {
  return tf.tidy(() => {
    const tensors = new Map(transformerWeightSpecs(arch).map((spec) => [spec.name, tf.tensor(weights.get(spec.name)!, [...spec.shape])]));
    return transformerForward(tensors, arch, tf.tensor4d(pixels, [1, 24, 20, 3])).dataSync() as Float32Array;
  });
}

function largestDifference(a: Float32Array, b: Float32Array): number {
  return a.reduce((max, value, i) => Math.max(max, Math.abs(value - b[i])), 0);
}

describe('widenTransformerWeights (Net2Net growth, for --init into a larger --arch)', () => {
  const random = seededRandom(5);
  const pixels = Float32Array.from({ length: 24 * 20 * 3 }, () => Math.round(random() * 255));
  const grown: [string, TransformerArchitecture][] = [
    ['slim into full (every width doubled, two more blocks)', full],
    ['slim into widths that are not multiples of the old ones', { channels: [24, 40, 64], residualBlocks: 4 }],
  ];
  for (const [what, to] of grown) {
    it(`${what} paints the same picture`, async () => {
      await useBackend('cpu');
      const weights = trainedLikeWeights(slim, 11);
      const before = paint(weights, slim, pixels);
      const after = paint(widenTransformerWeights(weights, slim, to, 3), to, pixels);
      // Outputs are 0..255; the sums regroup in float32.
      assert.ok(largestDifference(before, after) < 0.05, `the grown network's output differs by ${largestDifference(before, after)}`);
      // The check has teeth: a different network does not pass it.
      assert.ok(largestDifference(before, paint(trainedLikeWeights(slim, 12), slim, pixels)) > 1);
    });
  }

  it('splits a copied channel\'s weights unevenly, so that the copies can learn different things', () => {
    const weights = trainedLikeWeights(slim, 11);
    const widened = widenTransformerWeights(weights, slim, full, 3);
    // conv2 reads conv1's channels: full's input channels 0 and 16 are both slim's channel 0.
    const old = weights.get('conv2/kernel')!; // [3, 3, 16, 32]
    const kernel = widened.get('conv2/kernel')!; // [3, 3, 32, 64]
    // At kernel position (0, 0) the HWIO index is input * outputs + output.
    const at = (values: Float32Array, outputs: number, input: number, output: number) => values[input * outputs + output];
    let uneven = 0;
    for (let output = 0; output < 64; output++) {
      const first = at(kernel, 64, 0, output);
      const second = at(kernel, 64, 16, output);
      assert.ok(Math.abs(first + second - at(old, 32, 0, output % 32)) < 1e-6, 'the copies\' shares must sum to the old weight');
      if (Math.abs(first - second) > 1e-3 * Math.abs(first + second)) uneven++;
    }
    assert.ok(uneven > 60, `only ${uneven} of 64 weights are split unevenly`);
    // The same seed grows the same network.
    assert.deepEqual(widenTransformerWeights(weights, slim, full, 3).get('conv2/kernel'), kernel);
  });

  it('refuses to shrink a network', () => {
    assert.equal(cannotWiden(slim, full), null);
    assert.match(cannotWiden(full, slim)!, /channels 32\/64\/128 are wider than 16\/32\/64/);
    assert.match(cannotWiden({ channels: [16, 32, 64], residualBlocks: 5 }, slim)!, /5 residual blocks, more than 3/);
    assert.throws(() => widenTransformerWeights(trainedLikeWeights(full, 1), full, slim, 1), /Cannot grow this network/);
  });
});
