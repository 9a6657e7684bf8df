// The perceptual losses equal hand-computed values on tiny tensors, and the gradient of the whole
// training objective (TransformerNet -> VGG-shaped loss network -> Gram/content/TV losses) with
// respect to transformer weights matches central finite differences.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { join } from 'node:path';
import { ARCHITECTURE_PRESETS, initialTransformerWeights, seededRandom, transformerForward, transformerWeightSpecs } from 'nst-video/model';
import '../../trainer/src/training/register-gradients.js';
import { FAST_MAX_POOL_2X2_GRADIENT, hasFastGradient, maxPool2x2GradientInJs } from '../../trainer/src/kernels/fast-gradients.js';
import { registerComposedConvGradients } from '../../trainer/src/kernels/conv2d-gradients.js';
import { contentLoss, contentTargets, gramMatrix, gramMatrixReference, perceptualLoss, styleLoss, styleTargets, totalVariationLoss } from '../../trainer/src/training/losses.js';
import { maxPool2x2, VggFeatures } from '../../trainer/src/training/vgg.js';
import { tf, useBackend, useWebGpuOrWhyNot } from '../support/node-backend.js';
import { temporaryDirectory, writeTinyVgg } from '../support/trainer-fixtures.js';

const close = (actual: number, expected: number, tolerance = 1e-5) =>
  assert.ok(Math.abs(actual - expected) <= tolerance * Math.max(1, Math.abs(expected)), `${actual} != ${expected}`);

describe('perceptual losses on tiny tensors (wasm)', () => {
  before(async () => {
    await useBackend('wasm');
    registerComposedConvGradients('wasm');
  });

  it('Gram matrix of a 1x2x2x2 map, divided by C*H*W = 8', async () => {
    // Pixels (c0, c1): (1,2) (3,4) / (5,6) (7,8).
    const f = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 2, 2]);
    // G00 = 1+9+25+49 = 84, G01 = 2+12+30+56 = 100, G11 = 4+16+36+64 = 120.
    const expected = [84 / 8, 100 / 8, 100 / 8, 120 / 8];
    assert.deepEqual(Array.from(await gramMatrix(f).data()), expected);
    assert.deepEqual(Array.from(await gramMatrixReference(f).data()), expected);
  });

  it('Gram matrix is per image in a batch, and its gradient matches the matMul definition', async () => {
    const random = seededRandom(5);
    const f = tf.tensor4d(Float32Array.from({ length: 2 * 3 * 5 * 4 }, () => random() * 2 - 1), [2, 3, 5, 4]);
    const weights = tf.tensor3d(Float32Array.from({ length: 2 * 16 }, () => random() - 0.5), [2, 4, 4]);
    const [fast, reference] = [gramMatrix, gramMatrixReference].map((gram) => tf.grad((x: tf.Tensor) => tf.sum(tf.mul(gram(x as tf.Tensor4D), weights)))(f));
    const a = await fast.data();
    const b = await reference.data();
    for (let i = 0; i < a.length; i++) close(a[i], b[i], 1e-5);
    const second = await gramMatrix(tf.slice(f, [1, 0, 0, 0], [1, 3, 5, 4]) as tf.Tensor4D).data();
    const batched = (await gramMatrix(f).data()).slice(16);
    for (let i = 0; i < 16; i++) close(batched[i], second[i], 1e-6);
  });

  it('content loss is the mean squared difference', async () => {
    const loss = contentLoss(tf.tensor([1, 2, 3, 4]), tf.tensor([1, 0, 3, 7]));
    close((await loss.data())[0], (0 + 4 + 0 + 9) / 4);
  });

  it('style loss sums, over layers, the mean squared Gram difference (target broadcast over the batch)', async () => {
    const grams = [tf.tensor3d([1, 2, 3, 4, 0, 0, 0, 0], [2, 2, 2]), tf.tensor3d([5, 1], [2, 1, 1])];
    const targets = [tf.tensor3d([1, 1, 1, 1], [1, 2, 2]), tf.tensor3d([2], [1, 1, 1])];
    // Layer 1: image 1 diffs 0,1,2,3 -> 0+1+4+9; image 2 diffs -1 x4 -> 4; mean over 8 = 18/8.
    // Layer 2: diffs 3, -1 -> (9+1)/2 = 5.
    close((await styleLoss(grams, targets).data())[0], 18 / 8 + 5);
  });

  it('total variation: mean squared vertical plus horizontal neighbour differences', async () => {
    // One 2x3 grey image: rows (0, 1, 3) and (2, 2, 2), every channel the same.
    const rows = [0, 1, 3, 2, 2, 2];
    const image = tf.tensor4d(rows.flatMap((v) => [v, v, v]), [1, 2, 3, 3]);
    const vertical = (4 + 1 + 1) / 3; // (2-0)^2, (2-1)^2, (2-3)^2
    const horizontal = (1 + 4 + 0 + 0) / 4; // (1-0)^2, (3-1)^2, 0, 0
    close((await totalVariationLoss(image).data())[0], vertical + horizontal);
  });
});

describe('gradient of the training objective vs. finite differences (tiny VGG)', () => {
  it('matches on conv, norm and bias weights of a slim TransformerNet (wasm, composed conv gradients)', async () => {
    await useBackend('wasm');
    registerComposedConvGradients('wasm');
    await checkObjectiveGradient();
  });

  it('matches on webgpu too (its own conv gradients, our MirrorPad and VGG gradients)', async (t) => {
    const why = await useWebGpuOrWhyNot();
    if (why) return t.skip(why);
    await checkObjectiveGradient();
  });
});

/** The analytic gradient of the full objective against central finite differences, on the current backend. */
async function checkObjectiveGradient(): Promise<void> {
  const vgg = await VggFeatures.load(await writeTinyVgg(join(await temporaryDirectory('fd'), 'vgg')));
  const arch = ARCHITECTURE_PRESETS.slim;
  const config = { contentLayer: 'relu4_2', styleLayers: ['relu1_1', 'relu2_1', 'relu3_1'], contentWeight: 1, styleWeight: 50, tvWeight: 1e-3 } as const;
  const random = seededRandom(11);
  const photo = tf.tensor4d(Float32Array.from({ length: 2 * 16 * 16 * 3 }, () => random() * 255), [2, 16, 16, 3]);
  const style = tf.tensor4d(Float32Array.from({ length: 20 * 20 * 3 }, () => random() * 255), [1, 20, 20, 3]);
  const grams = styleTargets(vgg, style, config.styleLayers);
  const target = contentTargets(vgg, config, photo);
  const initial = initialTransformerWeights(arch, 4);
  const variables = new Map(transformerWeightSpecs(arch).map((spec) => [spec.name, tf.variable(tf.tensor(initial.get(spec.name)!, [...spec.shape]))]));
  const loss = () => perceptualLoss(vgg, config, grams, target, transformerForward(variables, arch, photo)).total;
  const { grads } = tf.variableGrads(loss);
  // ReLU and max-pool kinks make finite differences of a float32 network only ~5% exact; the bug
  // this guards against (tfjs's MirrorPad gradient) was off by 6x on conv1 and 5x on in5/offset.
  const probes: [string, number][] = [['conv1/kernel', 17], ['in3/scale', 5], ['up1/kernel', 50], ['in5/offset', 3], ['conv_out/bias', 1]];
  for (const [name, index] of probes) {
    const variable = variables.get(name)!;
    const analytic = (await grads[variable.name].data())[index];
    const values = (await variable.data()) as Float32Array;
    const h = 1e-3;
    const at = async (delta: number) => {
      const moved = values.slice();
      moved[index] += delta;
      variable.assign(tf.tensor(moved, variable.shape));
      const value = tf.tidy(loss);
      const result = (await value.data())[0];
      value.dispose();
      return result;
    };
    const numeric = ((await at(h)) - (await at(-h))) / (2 * h);
    variable.assign(tf.tensor(values, variable.shape));
    const scale = Math.max(Math.abs(numeric), Math.abs(analytic), 1e-3);
    assert.ok(Math.abs(numeric - analytic) / scale < 0.1, `${tf.getBackend()} ${name}[${index}]: analytic ${analytic}, finite difference ${numeric}`);
  }
  vgg.dispose();
}

describe('VGG max pooling', () => {
  // On wasm through the one-pass kernel (native where the addon is built, and the JavaScript one), on cpu through tfjs ops.
  it("routes the gradient to each 2x2 window's maximum, as a plain loop does (tfjs-backend-wasm's MaxPoolGrad does not), on wasm and cpu", async () => {
    for (const [backend, batch, size, channels] of (['wasm', 'cpu'] as const).flatMap((b) => ([[1, 8, 8], [2, 4, 1], [1, 7, 3], [1, 16, 64]] as const).map(([n, s, c]) => [b, n, s, c] as const))) {
      await useBackend(backend);
      assert.equal(hasFastGradient(FAST_MAX_POOL_2X2_GRADIENT), backend === 'wasm');
      const xs = Float32Array.from({ length: batch * size * size * channels }, (_, i) => Math.sin(i * 1.7 + 0.3) * 10);
      const half = Math.floor(size / 2);
      const ws = Float32Array.from({ length: batch * half * half * channels }, (_, i) => (i % 7) - 2.5);
      const expected = new Float32Array(xs.length);
      const at = (n: number, y: number, x: number, c: number) => ((n * size + y) * size + x) * channels + c;
      for (let n = 0; n < batch; n++) for (let i = 0; i < half; i++) for (let j = 0; j < half; j++) for (let c = 0; c < channels; c++) {
        const window = [at(n, 2 * i, 2 * j, c), at(n, 2 * i, 2 * j + 1, c), at(n, 2 * i + 1, 2 * j, c), at(n, 2 * i + 1, 2 * j + 1, c)];
        const best = window.reduce((a, b) => (xs[b] > xs[a] ? b : a));
        expected[best] += ws[((n * half + i) * half + j) * channels + c];
      }
      const weights = tf.tensor4d(ws, [batch, half, half, channels]);
      const gradient = tf.grad((x) => tf.sum(tf.mul(maxPool2x2(x as tf.Tensor4D), weights)))(tf.tensor4d(xs, [batch, size, size, channels]));
      const got = await gradient.data();
      const largest = expected.reduce((max, value, i) => Math.max(max, Math.abs(value - got[i])), 0);
      assert.equal(largest, 0, `${backend} ${batch}x${size}x${size}x${channels}: largest difference from the plain loop ${largest}`);
      if (backend === 'wasm') {
        // The JavaScript kernel by itself (wasm without the nst-native addon, whose version takes the name where it is built).
        const x = tf.tensor4d(xs, [batch, size, size, channels]);
        const inJs = tf.engine().makeTensorFromTensorInfo(maxPool2x2GradientInJs({ inputs: { x, pooled: tf.maxPool(x, 2, 2, 'valid'), dy: weights }, backend: tf.backend() }));
        const jsData = await inJs.data();
        assert.equal(expected.reduce((max, value, i) => Math.max(max, Math.abs(value - jsData[i])), 0), 0, 'the JavaScript kernel differs from the plain loop');
      }
    }
  });
});
