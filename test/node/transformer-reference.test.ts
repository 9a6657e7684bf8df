// The tfjs TransformerNet must compute what an independent plain-loop implementation computes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ARCHITECTURE_PRESETS, StyleModel, encodeStyleModel, initialTransformerWeights, readStyleModel, seededRandom, transformerForward } from 'nst-video/model';
import { plainTransformer } from '../reference/plain-transformer.js';
import { tf, useBackend } from '../support/node-backend.js';
import { memoryModelFiles } from '../support/model-fixtures.js';

/** Weights whose norms are not the identity, so scale and offset are exercised too. */
function perturbedWeights(preset: 'full' | 'slim', seed: number) {
  const weights = initialTransformerWeights(ARCHITECTURE_PRESETS[preset], seed);
  const random = seededRandom(seed + 1);
  for (const [name, values] of weights) {
    if (name.endsWith('/scale') || name.endsWith('/offset') || name.endsWith('/bias')) {
      for (let i = 0; i < values.length; i++) values[i] += (random() - 0.5) * 0.4;
    }
  }
  return weights;
}

function randomImage(height: number, width: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length: height * width * 3 }, () => Math.round(random() * 255));
}

function maxRelativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < expected.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(actual[i] - expected[i]));
    maxRef = Math.max(maxRef, Math.abs(expected[i]));
  }
  return maxDiff / maxRef;
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`TransformerNet on tfjs ${backend} vs. the plain-loop reference`, () => {
    for (const preset of ['slim', 'full'] as const) {
      it(`${preset}: agrees to 1e-3 relative on a 20x12 input`, async () => {
        await useBackend(backend);
        const arch = ARCHITECTURE_PRESETS[preset];
        const weights = perturbedWeights(preset, 7);
        const [height, width] = [20, 12];
        const pixels = randomImage(height, width, 3);
        const expected = plainTransformer(weights, arch.residualBlocks, { height, width, channels: 3, data: Float64Array.from(pixels) });
        const tensors = new Map([...weights].map(([name, values]) => [name, tf.tensor(values, shapeFor(name, weights, arch))]));
        const output = transformerForward(tensors, arch, tf.tensor4d(pixels, [1, height, width, 3]));
        const actual = await output.data();
        tf.dispose([output, ...tensors.values()]);
        assert.deepEqual([expected.height, expected.width], [height, width]);
        const error = maxRelativeError(actual, expected.data);
        assert.ok(error < 1e-3, `max relative error ${error}`);
        // A network that ignored its input would pass the check above only by luck: make sure
        // the output really varies across the picture.
        const spread = Math.max(...expected.data) - Math.min(...expected.data);
        assert.ok(spread > 10, `output spread ${spread}`);
      });
    }

    it('StyleModel.stylizeTensor handles sizes that are not a multiple of 4 and leaks no tensors', async () => {
      await useBackend(backend);
      const arch = ARCHITECTURE_PRESETS.slim;
      const weights = perturbedWeights('slim', 11);
      const encoded = await encodeStyleModel({ architecture: arch, weights, storage: 'float32', style: { name: 't' }, training: { kind: 'test' }, generatedBy: 'test' });
      const model = new StyleModel(await readStyleModel(memoryModelFiles(encoded)));
      const before = tf.memory().numTensors;
      const image = tf.tensor3d(randomImage(23, 17, 5), [23, 17, 3]);
      const out = model.stylizeTensor(image);
      assert.deepEqual(out.shape, [23, 17, 3]);
      const values = await out.data();
      tf.dispose([image, out]);
      assert.equal(tf.memory().numTensors, before, 'tensors leaked');
      // The cropped output equals the reference run on the reflect-padded input, cropped.
      const padded = reflectPad(randomImage(23, 17, 5), 23, 17, 24, 20);
      const reference = plainTransformer(weights, arch.residualBlocks, { height: 24, width: 20, channels: 3, data: Float64Array.from(padded) });
      const cropped = new Float64Array(23 * 17 * 3);
      for (let y = 0; y < 23; y++) for (let x = 0; x < 17 * 3; x++) cropped[y * 51 + x] = reference.data[y * 60 + x];
      assert.ok(maxRelativeError(values, cropped) < 1e-3);
      model.dispose();
    });
  });
}

function shapeFor(name: string, weights: Map<string, Float32Array>, arch: (typeof ARCHITECTURE_PRESETS)['full']): number[] {
  const [c1, c2, c3] = arch.channels;
  const n = weights.get(name)!.length;
  if (!name.endsWith('/kernel')) return [n];
  const k = name === 'conv1/kernel' || name === 'conv_out/kernel' ? 9 : 3;
  const cout = name === 'conv1/kernel' ? c1 : name === 'conv2/kernel' ? c2 : name === 'conv_out/kernel' ? 3 : name === 'up1/kernel' ? c2 : name === 'up2/kernel' ? c1 : c3;
  return [k, k, n / (k * k * cout), cout];
}

/** Pads bottom and right by reflection, as StyleModel does before the network. */
function reflectPad(data: Float32Array, height: number, width: number, toHeight: number, toWidth: number): Float32Array {
  const out = new Float32Array(toHeight * toWidth * 3);
  for (let y = 0; y < toHeight; y++) {
    const sy = y < height ? y : 2 * (height - 1) - y;
    for (let x = 0; x < toWidth; x++) {
      const sx = x < width ? x : 2 * (width - 1) - x;
      for (let c = 0; c < 3; c++) out[(y * toWidth + x) * 3 + c] = data[(sy * width + sx) * 3 + c];
    }
  }
  return out;
}
