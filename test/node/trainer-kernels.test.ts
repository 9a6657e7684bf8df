// The wasm backend's composed conv gradients (trainer/src/kernels) equal the cpu backend's stock
// kernels on strided, padded, explicit-padding and 9x9 cases, the filter gradient by both of its
// ways (patch matrix and convolution); the MirrorPad gradient equals the
// sum of what each padded pixel copied.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from 'nst-video/model';
import '../../trainer/src/training/register-gradients.js';
import { conv2dBackpropFilterComposed, registerComposedConvGradients } from '../../trainer/src/kernels/conv2d-gradients.js';
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

async function convGradients(c: (typeof CASES)[number]): Promise<[Float32Array, Float32Array]> {
  const random = seededRandom(c.x.length * 31 + c.f[0]);
  const fill = (shape: number[]) => Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => random() - 0.5);
  const x = tf.tensor4d(fill(c.x), c.x as [number, number, number, number]);
  const f = tf.tensor4d(fill(c.f), c.f as [number, number, number, number]);
  const y = tf.conv2d(x, f, c.stride, c.pad);
  const dy = tf.tensor(fill(y.shape), y.shape);
  const [gx, gf] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad), dy)))([x, f]);
  const result: [Float32Array, Float32Array] = [(await gx.data()) as Float32Array, (await gf.data()) as Float32Array];
  tf.dispose([x, f, y, dy, gx, gf]);
  return result;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
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
    });
  }
});
