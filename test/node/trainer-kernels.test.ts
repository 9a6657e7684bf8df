// The wasm backend's composed conv gradients (trainer/src/kernels) equal the cpu backend's stock
// kernels on strided, padded, explicit-padding and 9x9 cases, the filter gradient by both of its
// ways (patch matrix and convolution); the fast Transpose equals the cpu backend's on every
// permutation; oneDNN's convolutions (where the nst-native addon is built; else they skip, saying
// why) equal it too, as does their fused instance normalisation (+ ReLU) with its three gradients,
// and in bfloat16 (where the CPU has it) they come within bfloat16's rounding of it;
// the MirrorPad gradient equals the sum of what each padded pixel copied; the TransformerNet's
// upsampling gradient is a 2x2 block sum; wasm's Identity and Cast share data without leaking it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FUSED_INSTANCE_NORM_KERNEL, instanceNorm, seededRandom, upsampleNearest2x } from 'nst-video/model';
import '../../trainer/src/training/register-gradients.js';
import { conv2dBackpropFilterComposed, registerComposedConvGradients } from '../../trainer/src/kernels/conv2d-gradients.js';
import { FAST_MIRROR_PAD_GRADIENT, FAST_RELU_GRADIENT, hasFastGradient, mirrorPadGradientInJs, reluGradientInJs } from '../../trainer/src/kernels/fast-gradients.js';
import { reducePermutation, registerFastTranspose } from '../../trainer/src/kernels/fast-transpose.js';
import { nativeAddon, nativeBfloat16, setConvolutionPrecision } from '../../trainer/src/kernels/native-kernels.js';
import { ADAM_UPDATE_KERNEL, adamUpdateInJs } from '../../trainer/src/kernels/adam-update.js';
import { Adam } from '../../trainer/src/training/adam.js';
import { registerWasmKernels } from '../../trainer/src/kernels/wasm-kernels.js';
import { mirrorPadGradient } from '../../trainer/src/kernels/mirror-pad-gradient.js';
import { tf, useBackend } from '../support/node-backend.js';

type Pad = 'same' | 'valid' | [[0, 0], [number, number], [number, number], [0, 0]];
const CASES: { label: string; x: number[]; f: number[]; stride: 1 | 2; pad: Pad }[] = [
  { label: '3x3 stride 2 same, odd sizes', x: [2, 9, 11, 3], f: [3, 3, 3, 5], stride: 2, pad: 'same' },
  { label: '3x3 stride 2 valid', x: [2, 9, 11, 3], f: [3, 3, 3, 5], stride: 2, pad: 'valid' },
  { label: '9x9 stride 1 valid (the TransformerNet in/out convs)', x: [1, 20, 20, 4], f: [9, 9, 4, 3], stride: 1, pad: 'valid' },
  { label: '9x9 stride 1 same, non-square', x: [1, 20, 17, 4], f: [9, 9, 4, 3], stride: 1, pad: 'same' },
  { label: '3x3 stride 1 same, batch 3 (VGG)', x: [3, 16, 16, 8], f: [3, 3, 8, 16], stride: 1, pad: 'same' },
  { label: '3x3 stride 2, explicit asymmetric padding', x: [1, 10, 10, 2], f: [3, 3, 2, 2], stride: 2, pad: [[0, 0], [1, 2], [0, 1], [0, 0]] },
  { label: '3x3 stride 2 same, batch 2, even sizes (the TransformerNet downsampling)', x: [2, 24, 20, 6], f: [3, 3, 6, 7], stride: 2, pad: 'same' },
];

/** The input and filter gradients of a conv on case `c`, then its output and that of a fused conv (bias, ReLU). */
async function convGradients(c: (typeof CASES)[number]): Promise<[Float32Array, Float32Array, Float32Array, Float32Array]> {
  const random = seededRandom(c.x.length * 31 + c.f[0]);
  const fill = (shape: number[]) => Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => random() - 0.5);
  const x = tf.tensor4d(fill(c.x), c.x as [number, number, number, number]);
  const f = tf.tensor4d(fill(c.f), c.f as [number, number, number, number]);
  const y = tf.conv2d(x, f, c.stride, c.pad);
  const dy = tf.tensor(fill(y.shape), y.shape);
  const bias = tf.tensor1d(fill([c.f[3]]));
  const fused = tf.fused.conv2d({ x, filter: f, strides: c.stride, pad: c.pad, bias, activation: 'relu' });
  const [gx, gf] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad), dy)))([x, f]);
  const result = (await Promise.all([gx, gf, y, fused].map((t) => t.data()))) as [Float32Array, Float32Array, Float32Array, Float32Array];
  tf.dispose([x, f, y, dy, bias, fused, gx, gf]);
  return result;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
}

/** ||a - b|| / ||b||: how far a result is from its reference as a whole. */
function relativeError(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let difference = 0;
  let size = 0;
  b.forEach((v, i) => {
    difference += (a[i] - v) ** 2;
    size += v * v;
  });
  return Math.sqrt(difference / size);
}

describe('composed Conv2DBackpropFilter/Input on wasm vs. the cpu backend', () => {
  for (const c of CASES) {
    it(c.label, async () => {
      await useBackend('cpu');
      const reference = await convGradients(c);
      await useBackend('wasm');
      registerComposedConvGradients('wasm');
      assert.equal(tf.getKernel('Conv2DBackpropFilter', 'wasm')?.kernelFunc.name, 'conv2dBackpropFilterComposed');
      const composed = await convGradients(c);
      assert.ok(maxAbsDiff(composed[0], reference[0]) < 5e-5, `input gradient differs by ${maxAbsDiff(composed[0], reference[0])}`);
      assert.ok(maxAbsDiff(composed[1], reference[1]) < 5e-5, `filter gradient differs by ${maxAbsDiff(composed[1], reference[1])}`);
    });
  }

  // Layers too large for the patch matrix take the dilated convolution: every case through it too.
  for (const c of CASES) {
    it(`${c.label}, filter gradient without the patch matrix`, async () => {
      await useBackend('cpu');
      const reference = await convGradients(c);
      await useBackend('wasm');
      registerComposedConvGradients('wasm');
      tf.unregisterKernel('Conv2DBackpropFilter', 'wasm');
      tf.registerKernel({ kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: ((args: never) => conv2dBackpropFilterComposed(args, 0)) as unknown as tf.KernelFunc });
      try {
        const composed = await convGradients(c);
        assert.ok(maxAbsDiff(composed[1], reference[1]) < 5e-5, `filter gradient differs by ${maxAbsDiff(composed[1], reference[1])}`);
      } finally {
        registerComposedConvGradients('wasm');
      }
    });
  }

  it('refuses dilated convolutions instead of computing them wrongly', async () => {
    await useBackend('wasm');
    registerComposedConvGradients('wasm');
    // tf.grad itself refuses dilated conv gradients, so call the kernel as a caller could.
    const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: 2, filterShape: [3, 3, 1, 1] };
    assert.throws(() => tf.engine().runKernel('Conv2DBackpropFilter', { x: tf.ones([1, 8, 8, 1]), dy: tf.ones([1, 8, 8, 1]) }, attrs), /only dilation 1/);
  });
});

describe('native convolutions (oneDNN, the nst-native addon) on wasm vs. the cpu backend', () => {
  const why = nativeAddon().addon ? undefined : nativeAddon().reason;
  for (const c of CASES) {
    it(`${c.label}: output, fused bias + ReLU output, input and filter gradients`, async (t) => {
      if (why) return t.skip(why);
      await useBackend('cpu');
      const reference = await convGradients(c);
      await useBackend('wasm');
      registerWasmKernels(2);
      for (const kernel of ['Conv2D', 'FusedConv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter']) {
        assert.equal(tf.getKernel(kernel, 'wasm')?.kernelFunc.name, `native${kernel}`);
      }
      const native = await convGradients(c);
      for (const [i, what] of ['input gradient', 'filter gradient', 'output', 'fused output'].entries()) {
        assert.ok(maxAbsDiff(native[i], reference[i]) < 5e-5, `${what} differs by ${maxAbsDiff(native[i], reference[i])}`);
      }
    });
  }

  // bfloat16 keeps 8 significant bits: each product's inputs are off by up to 2^-9, so a sum of many
  // such products is off by ~0.2 % (random-signed errors); 1 % would mean a wrong computation.
  it('in bfloat16: every case within 1 % of float32, and float32 exact again afterwards', async (t) => {
    const bfloat16 = nativeBfloat16();
    if (!bfloat16.available) return t.skip(bfloat16.reason);
    await useBackend('cpu');
    const references = [];
    for (const c of CASES) references.push(await convGradients(c));
    await useBackend('wasm');
    registerWasmKernels(2);
    setConvolutionPrecision('bfloat16');
    try {
      for (const [n, c] of CASES.entries()) {
        const rounded = await convGradients(c);
        for (const [i, what] of ['input gradient', 'filter gradient', 'output', 'fused output'].entries()) {
          const error = relativeError(rounded[i], references[n][i]);
          assert.ok(error < 1e-2 && error > 0, `${c.label}: ${what} is off by ${error} (bfloat16 rounding gives ~2e-3)`);
        }
      }
    } finally {
      setConvolutionPrecision('float32');
    }
    const exact = await convGradients(CASES[0]);
    references[0].forEach((reference, i) => assert.ok(maxAbsDiff(exact[i], reference) < 5e-5));
    assert.throws(() => setConvolutionPrecision('half' as never), /setPrecision takes "float32" or "bfloat16", got "half"/);
  });

  it('BatchMatMul with every transpose and a broadcast batch', async (t) => {
    if (why) return t.skip(why);
    const products = async () => {
      const random = seededRandom(9);
      const fill = (shape: number[]) => tf.tensor3d(Float32Array.from({ length: shape.reduce((p, q) => p * q, 1) }, () => random() - 0.5), shape as [number, number, number]);
      const results: Float32Array[] = [];
      for (const [transposeA, transposeB] of [[false, false], [true, false], [false, true], [true, true]]) {
        const a = fill(transposeA ? [3, 7, 5] : [3, 5, 7]);
        const b = fill(transposeB ? [1, 4, 7] : [1, 7, 4]);
        results.push((await tf.matMul(a, b, transposeA, transposeB).data()) as Float32Array);
      }
      return results;
    };
    await useBackend('cpu');
    const reference = await products();
    await useBackend('wasm');
    registerWasmKernels(2);
    assert.equal(tf.getKernel('BatchMatMul', 'wasm')?.kernelFunc.name, 'nativeBatchMatMul');
    (await products()).forEach((result, i) => assert.ok(maxAbsDiff(result, reference[i]) < 1e-5, `case ${i} differs by ${maxAbsDiff(result, reference[i])}`));
  });

  it('MirrorPad, 2x2 max pooling and Concat as the cpu backend computes them; what they do not take goes to wasm', async (t) => {
    if (why) return t.skip(why);
    const run = async () => {
      const random = seededRandom(11);
      const fill = (shape: number[]) => tf.tensor(Float32Array.from({ length: shape.reduce((p, q) => p * q, 1) }, () => random() - 0.5), shape);
      const image = fill([2, 7, 9, 5]) as tf.Tensor4D;
      const results = [
        tf.mirrorPad(image, [[0, 0], [1, 2], [3, 0], [0, 0]], 'reflect'),
        tf.mirrorPad(image, [[0, 0], [2, 2], [1, 1], [0, 0]], 'symmetric'),
        tf.mirrorPad(image, [[1, 0], [1, 1], [1, 1], [0, 0]], 'reflect'), // pads the batch: not taken
        tf.maxPool(image, 2, 2, 'valid'), // odd height and width: the last row and column left out
        tf.maxPool(image, 3, 2, 'same'), // not taken
        ...[0, 1, 2, 3, -1].map((axis) => tf.concat([image, fill(image.shape.map((size, i) => (i === (axis + 4) % 4 ? 3 : size))), image], axis)),
        tf.concat([tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32'), tf.tensor2d([5, 6], [2, 1], 'int32')], 1), // int32: not taken
      ];
      return Promise.all(results.map(async (result) => ({ shape: result.shape, values: Array.from(await result.data()) })));
    };
    await useBackend('cpu');
    const reference = await run();
    await useBackend('wasm');
    registerWasmKernels(2);
    for (const kernel of ['MirrorPad', 'MaxPool', 'Concat']) assert.equal(tf.getKernel(kernel, 'wasm')?.kernelFunc.name, `native${kernel}`);
    assert.deepEqual(await run(), reference);
  });

  it('hands a dilated convolution to the kernel it replaced', async (t) => {
    if (why) return t.skip(why);
    const run = async () => {
      const x = tf.tensor4d(Float32Array.from({ length: 2 * 12 * 12 * 3 }, (_, i) => Math.sin(i)), [2, 12, 12, 3]);
      const f = tf.tensor4d(Float32Array.from({ length: 3 * 3 * 3 * 4 }, (_, i) => Math.cos(i)), [3, 3, 3, 4]);
      return (await tf.conv2d(x, f, 1, 'same', 'NHWC', 2).data()) as Float32Array;
    };
    await useBackend('cpu');
    const reference = await run();
    await useBackend('wasm');
    registerWasmKernels(2);
    assert.ok(maxAbsDiff(await run(), reference) < 5e-5);
  });

  for (const relu of [false, true]) {
    it(`instance normalisation${relu ? ' + ReLU' : ''} in one kernel: output and the input, scale and offset gradients`, async (t) => {
      if (why) return t.skip(why);
      const run = async () => {
        const random = seededRandom(relu ? 5 : 6);
        const fill = (shape: number[], spread: number, centre = 0) => tf.tensor(Float32Array.from({ length: shape.reduce((p, q) => p * q, 1) }, () => centre + (random() - 0.5) * spread), shape);
        // Channel means far from 0 (as after a conv) and a batch of 2, which the scale and offset gradients sum over.
        const x = fill([2, 9, 7, 5], 6, 3) as tf.Tensor4D;
        const scale = fill([5], 1, 1);
        const offset = fill([5], 1);
        const dy = fill([2, 9, 7, 5], 2);
        const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => instanceNorm(a as tf.Tensor4D, b, c, { relu });
        const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(f(a, b, c), dy)))([x, scale, offset]);
        return Promise.all([f(x, scale, offset), ...grads].map((tensor) => tensor.data() as Promise<Float32Array>));
      };
      await useBackend('cpu');
      const reference = await run();
      await useBackend('wasm');
      registerWasmKernels(2);
      assert.ok(tf.getKernel(FUSED_INSTANCE_NORM_KERNEL, 'wasm'));
      const fused = await run();
      for (const [i, what] of ['output', 'input gradient', 'scale gradient', 'offset gradient'].entries()) {
        assert.ok(maxAbsDiff(fused[i], reference[i]) < 2e-4, `${what} differs by ${maxAbsDiff(fused[i], reference[i])}`);
      }
    });
  }

  it('refuses arrays that do not match their shapes, naming the argument', (t) => {
    if (why) return t.skip(why);
    const addon = nativeAddon().addon!;
    const call = (x: Float32Array) => addon.conv2dForward(x, [1, 4, 4, 2], new Float32Array(3 * 3 * 2 * 2), [3, 3, 2, 2], null, new Float32Array(32), [1, 4, 4, 2], [1, 1], [1, 1, 1, 1], false);
    assert.throws(() => call(new Float32Array(31)), /nst-native: argument 0 holds 31 floats, its shape needs 32/);
    assert.throws(() => addon.conv2dForward(new Float32Array(32), [1, 4, 4, 2], new Float32Array(36), [3, 3, 2, 2], null, new Float32Array(32), [1, 5, 4, 2], [1, 1], [1, 1, 1, 1], false), /output size does not follow/);
    call(new Float32Array(32));
  });
});

describe('MirrorPad gradient', () => {
  for (const mode of ['reflect', 'symmetric'] as const) {
    it(`${mode}: each input pixel gets the gradient of every padded pixel that copied it`, async () => {
      await useBackend('cpu');
      const [h, w] = [4, 5];
      const paddings: [number, number][] = [[0, 0], [2, 3], [3, 1], [0, 0]];
      // Pad an image of pixel indices; then the true gradient of sum(pad(x) * dy) at pixel i is the
      // sum of dy over the padded positions holding i.
      const indices = tf.tensor4d(Float32Array.from({ length: h * w }, (_, i) => i), [1, h, w, 1]);
      const padded = (await tf.mirrorPad(indices, paddings, mode).data()) as Float32Array;
      const random = seededRandom(2);
      const dy = Float32Array.from(padded, () => random() - 0.5);
      const expected = new Float32Array(h * w);
      padded.forEach((source, p) => (expected[source] += dy[p]));
      const ours = (await mirrorPadGradient(tf.tensor4d(dy, [1, h + 5, w + 4, 1]), [1, h, w, 1], paddings, mode).data()) as Float32Array;
      assert.ok(maxAbsDiff(ours, expected) < 1e-6, `max diff ${maxAbsDiff(ours, expected)}`);
      const viaGrad = (await tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.mirrorPad(x as tf.Tensor4D, paddings, mode), tf.tensor4d(dy, [1, h + 5, w + 4, 1]))))(indices).data()) as Float32Array;
      assert.ok(maxAbsDiff(viaGrad, expected) < 1e-6, 'tf.grad does not use the registered MirrorPad gradient');
      // On wasm, tf.grad takes the one-pass kernel (kernels/fast-gradients.ts).
      await useBackend('wasm');
      assert.ok(hasFastGradient(FAST_MIRROR_PAD_GRADIENT));
      const onWasm = (await tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.mirrorPad(x as tf.Tensor4D, paddings, mode), tf.tensor4d(dy, [1, h + 5, w + 4, 1]))))(indices).data()) as Float32Array;
      assert.ok(maxAbsDiff(onWasm, expected) < 1e-6, `the wasm kernel differs by ${maxAbsDiff(onWasm, expected)}`);
      // The JavaScript kernel by itself (what wasm runs without the nst-native addon, whose version takes the name where it is built).
      const inJs = tf.engine().makeTensorFromTensorInfo(mirrorPadGradientInJs({ inputs: { dy: tf.tensor4d(dy, [1, h + 5, w + 4, 1]) }, backend: tf.backend(), attrs: { xShape: [1, h, w, 1], paddings, mode } as never }));
      assert.ok(maxAbsDiff((await inJs.data()) as Float32Array, expected) < 1e-6, 'the JavaScript kernel differs');
    });
  }
});

describe('ReLU gradient from the output', () => {
  it('is dy where the output is positive, on wasm (native where built) and in JavaScript, as tfjs composes it', async () => {
    const random = seededRandom(4);
    // Outputs of a ReLU: zeros, and positives down to the smallest float.
    const values = Float32Array.from({ length: 3 * 5 * 7 * 9 }, (_, i) => (i % 3 === 0 ? 0 : i % 7 === 0 ? 1e-38 : random()));
    const dy = Float32Array.from(values, () => random() - 0.5);
    await useBackend('cpu');
    // tfjs's product gives -0 for a negative dy at a zero output, ours 0: the same number.
    const plain = (data: tf.TypedArray | Float32Array) => Array.from(data, (v) => v + 0);
    const expected = plain(await tf.mul(tf.tensor(dy), tf.step(tf.tensor(values))).data());
    await useBackend('wasm');
    registerWasmKernels(2);
    assert.ok(hasFastGradient(FAST_RELU_GRADIENT));
    const inputs = { dy: tf.tensor4d(dy, [3, 5, 7, 9]), y: tf.tensor4d(values, [3, 5, 7, 9]) };
    assert.deepEqual(plain(await (tf.engine().runKernel(FAST_RELU_GRADIENT, inputs) as tf.Tensor).data()), expected);
    const inJs = tf.engine().makeTensorFromTensorInfo(reluGradientInJs({ inputs, backend: tf.backend() }));
    assert.deepEqual(plain(await inJs.data()), expected);
  });
});

describe('Adam in one kernel', () => {
  it('three steps give tfjs ops\' weights and moments, natively (where built) and in JavaScript', async () => {
    const threeSteps = async () => {
      const random = seededRandom(8);
      const fill = (n: number, spread: number) => Float32Array.from({ length: n }, () => (random() - 0.5) * spread);
      const variables = new Map([['a', tf.variable(tf.tensor(fill(300, 2), [10, 30]))], ['b', tf.variable(tf.tensor(fill(7, 2)))]]);
      const adam = new Adam(1e-2);
      for (let step = 0; step < 3; step++) {
        const gradients = new Map([...variables].map(([name, variable]) => [name, tf.tensor(fill(variable.size, step === 1 ? 1e-6 : 3), variable.shape)]));
        adam.apply(variables, gradients);
        tf.dispose([...gradients.values()]);
      }
      const state = await adam.saveState();
      const weights = await Promise.all([...variables.values()].map((variable) => variable.data() as Promise<Float32Array>));
      adam.dispose();
      tf.dispose([...variables.values()]);
      return [...weights, ...state.m.values(), ...state.v.values()];
    };
    await useBackend('cpu');
    assert.equal(tf.getKernel(ADAM_UPDATE_KERNEL, 'cpu'), undefined);
    const composed = await threeSteps();
    await useBackend('wasm');
    registerWasmKernels(2);
    const oneKernel = await threeSteps();
    tf.unregisterKernel(ADAM_UPDATE_KERNEL, 'wasm');
    tf.registerKernel({ kernelName: ADAM_UPDATE_KERNEL, backendName: 'wasm', kernelFunc: adamUpdateInJs as unknown as tf.KernelFunc });
    const inJs = await threeSteps();
    for (const [what, result] of [['one kernel', oneKernel], ['JavaScript', inJs]] as const) {
      composed.forEach((reference, i) => assert.ok(relativeError(result[i], reference) < 1e-6, `${what}: array ${i} is off by ${relativeError(result[i], reference)}`));
    }
  });
});

describe('fast Transpose on wasm', () => {
  it('reduces permutations: size-1 axes dropped, neighbours merged', () => {
    assert.deepEqual(reducePermutation([1, 8, 6, 3], [3, 0, 1, 2]), { shape: [48, 3], perm: [1, 0] });
    assert.deepEqual(reducePermutation([1, 100, 64], [0, 2, 1]), { shape: [100, 64], perm: [1, 0] });
    assert.deepEqual(reducePermutation([2, 100, 64], [0, 2, 1]), { shape: [2, 100, 64], perm: [0, 2, 1] });
    assert.deepEqual(reducePermutation([5, 3, 3, 7], [1, 2, 0, 3]), { shape: [5, 9, 7], perm: [1, 0, 2] });
    assert.deepEqual(reducePermutation([4, 5, 6], [0, 1, 2]), { shape: [120], perm: [0] });
    assert.deepEqual(reducePermutation([1, 1], [1, 0]), { shape: [], perm: [] });
  });

  it('equals the cpu backend on every permutation of 2-, 3- and 4-axis tensors, with and without size-1 axes', async () => {
    const permutations = (n: number): number[][] =>
      n === 1 ? [[0]] : permutations(n - 1).flatMap((p) => Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)]));
    const shapes = [[37, 50], [1, 70, 33], [3, 40, 17], [2, 1, 9, 20], [3, 5, 7, 18], [1, 33, 35, 1]];
    const random = seededRandom(5);
    for (const shape of shapes) {
      const values = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => random());
      for (const perm of permutations(shape.length)) {
        await useBackend('cpu');
        const expected = (await tf.transpose(tf.tensor(values, shape), perm).data()) as Float32Array;
        await useBackend('wasm');
        registerFastTranspose('wasm');
        const result = tf.transpose(tf.tensor(values, shape), perm);
        assert.deepEqual(result.shape, perm.map((axis) => shape[axis]));
        assert.deepEqual(await result.data(), expected, `shape [${shape}] perm [${perm}]`);
      }
    }
    assert.equal(tf.getKernel('Transpose', 'wasm')?.kernelFunc.name, 'fastTranspose');
  });

  it('hands int32 tensors to the stock kernel', async () => {
    await useBackend('wasm');
    registerFastTranspose('wasm');
    const result = tf.transpose(tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3], 'int32'));
    assert.equal(result.dtype, 'int32');
    assert.deepEqual(Array.from(await result.data()), [1, 4, 2, 5, 3, 6]);
  });
});

describe('the TransformerNet\'s upsampling and shared copies on wasm', () => {
  it('the nearest-neighbour upsampling\'s gradient is the sum of each 2x2 block, on cpu and wasm', async () => {
    for (const backend of ['cpu', 'wasm'] as const) {
      await useBackend(backend);
      const dy = tf.tensor4d(Float32Array.from({ length: 2 * 6 * 4 * 3 }, (_, i) => Math.sin(i * 0.7)), [2, 6, 4, 3]);
      const x = tf.zeros([2, 3, 2, 3]) as tf.Tensor4D;
      const gradient = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(upsampleNearest2x(input as tf.Tensor4D), dy)))(x);
      const d = (await dy.array()) as number[][][][];
      const expected = [0, 1].map((n) => [0, 1, 2].map((i) => [0, 1].map((j) => [0, 1, 2].map((c) => d[n][2 * i][2 * j][c] + d[n][2 * i + 1][2 * j][c] + d[n][2 * i][2 * j + 1][c] + d[n][2 * i + 1][2 * j + 1][c]))));
      assert.ok(maxAbsDiff((await gradient.data()) as Float32Array, Float32Array.from(expected.flat(3))) < 1e-5, backend);
    }
  });

  it('Identity and a same-dtype Cast share the data; disposing either leaves the other readable', async () => {
    await useBackend('wasm');
    registerWasmKernels(2);
    const before = tf.memory().numDataBuffers;
    const x = tf.tensor1d([1, 2, 3]);
    const copy = tf.clone(x);
    const cast = tf.cast(x, 'float32');
    assert.equal(tf.memory().numDataBuffers, before + 1, 'one buffer for the three tensors');
    x.dispose();
    assert.deepEqual(Array.from(await copy.data()), [1, 2, 3]);
    copy.dispose();
    assert.deepEqual(Array.from(await cast.data()), [1, 2, 3]);
    const integers = tf.cast(cast, 'int32');
    assert.deepEqual(Array.from(await integers.data()), [1, 2, 3], 'a Cast to another dtype still converts');
    tf.dispose([cast, integers]);
    assert.equal(tf.memory().numDataBuffers, before, 'the shared buffer is freed with its last tensor');
  });
});
