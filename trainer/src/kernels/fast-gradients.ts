/**
 * Three gradients as single passes in JavaScript over the wasm heap, where tfjs ops take many:
 *
 * - MirrorPad's (the TransformerNet's reflect padding, before every conv): composed from ops
 *   (mirror-pad-gradient.ts) it is three slices, two reversals, two zero pads and two adds of the
 *   whole tensor per padded axis;
 * - VGG's 2x2 max pooling's (vgg.ts): an upsampling of the pooled maxima and of dy, a comparison,
 *   a cast and a product, each over the full-size feature map (256x256x64 at relu1_2);
 * - VGG's ReLUs' (vgg.ts): dy where the output is positive, which tfjs computes as a Step and a
 *   product, two passes writing full-size tensors.
 *
 * Each is a kernel of its own name on the wasm backend only; the gradient functions use it when
 * the current backend has it (`hasFastGradient`) and the composed form everywhere else, which the
 * tests compare it with. Where the nst-native addon is built, its versions of all three
 * (vectorised, on every thread) take the names over (native-kernels.ts); these serve wasm without it.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { WasmHeap } from './wasm-heap.js';

type TensorInfo = tf.TensorInfo;

/** Kernel names, looked up by the gradient functions. */
export const FAST_MIRROR_PAD_GRADIENT = 'NstMirrorPadGradient';
export const FAST_MAX_POOL_2X2_GRADIENT = 'NstMaxPool2x2Gradient';
export const FAST_RELU_GRADIENT = 'NstReluGradient';

/** Whether the current backend has the fast kernel `name`. */
export function hasFastGradient(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

/**
 * Where each position along a mirror-padded axis of length n + before + after came from: for
 * `reflect`, position p < before copies before - p and position before+n+j copies n-2-j; for
 * `symmetric`, before-1-p and n-1-j.
 */
export function mirrorSources(n: number, before: number, after: number, mode: 'reflect' | 'symmetric'): Int32Array {
  const edge = mode === 'reflect' ? 1 : 0;
  return Int32Array.from({ length: n + before + after }, (_, p) =>
    p < before ? before - p - (1 - edge) : p < before + n ? p - before : n - 1 - edge - (p - before - n),
  );
}

/**
 * dx of MirrorPad for [b, h, w, c] padded on h and w only (the other paddings must be 0): every
 * padded pixel's gradient added to the pixel it copied. Attributes: xShape, paddings, mode.
 */
export function mirrorPadGradientInJs(args: { inputs: tf.NamedTensorInfoMap; backend: object; attrs?: tf.NamedAttrMap }): TensorInfo {
  const { dy } = args.inputs as { dy: TensorInfo };
  const { xShape, paddings, mode } = args.attrs as unknown as { xShape: number[]; paddings: [number, number][]; mode: 'reflect' | 'symmetric' };
  const [b, h, w, c] = xShape;
  const [, hp, wp] = dy.shape;
  const rows = mirrorSources(h, paddings[1][0], paddings[1][1], mode);
  const columns = mirrorSources(w, paddings[2][0], paddings[2][1], mode);
  const heap = args.backend as WasmHeap;
  const out = heap.makeOutput([b, h, w, c], 'float32');
  const source = heap.typedArrayFromHeap(dy);
  const target = heap.typedArrayFromHeap(out);
  target.fill(0);
  for (let image = 0; image < b; image++) {
    for (let py = 0; py < hp; py++) {
      const targetRow = (image * h + rows[py]) * w;
      const sourceRow = (image * hp + py) * wp;
      for (let px = 0; px < wp; px++) {
        const to = (targetRow + columns[px]) * c;
        const from = (sourceRow + px) * c;
        for (let k = 0; k < c; k++) target[to + k] += source[from + k];
      }
    }
  }
  return out;
}

/**
 * dx of VGG's 2x2 stride-2 max pooling of x [b, h, w, c] (pooled [b, h/2, w/2, c], floor): dy of
 * each window goes to every pixel equal to the window's maximum (vgg.ts says why ties are
 * harmless); the last row or column an odd size leaves out gets zero. Inputs: x, pooled, dy.
 */
export function maxPool2x2GradientInJs(args: { inputs: tf.NamedTensorInfoMap; backend: object }): TensorInfo {
  const { x, pooled, dy } = args.inputs as { x: TensorInfo; pooled: TensorInfo; dy: TensorInfo };
  const [b, h, w, c] = x.shape;
  const [, ph, pw] = pooled.shape;
  const heap = args.backend as WasmHeap;
  const out = heap.makeOutput([b, h, w, c], 'float32');
  const input = heap.typedArrayFromHeap(x);
  const maxima = heap.typedArrayFromHeap(pooled);
  const gradient = heap.typedArrayFromHeap(dy);
  const target = heap.typedArrayFromHeap(out);
  if (ph * 2 !== h || pw * 2 !== w) target.fill(0);
  for (let image = 0; image < b; image++) {
    for (let i = 0; i < ph; i++) {
      for (let j = 0; j < pw; j++) {
        const window = ((image * ph + i) * pw + j) * c;
        for (const [dyRow, dxColumn] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
          const pixel = ((image * h + 2 * i + dyRow) * w + 2 * j + dxColumn) * c;
          for (let k = 0; k < c; k++) target[pixel + k] = input[pixel + k] === maxima[window + k] ? gradient[window + k] : 0;
        }
      }
    }
  }
  return out;
}

/** dx of a ReLU from its output y: dy where y > 0, else 0. Inputs: dy, y (the same shape). */
export function reluGradientInJs(args: { inputs: tf.NamedTensorInfoMap; backend: object }): TensorInfo {
  const { dy, y } = args.inputs as { dy: TensorInfo; y: TensorInfo };
  const heap = args.backend as WasmHeap;
  const out = heap.makeOutput(y.shape, 'float32');
  const gradient = heap.typedArrayFromHeap(dy);
  const output = heap.typedArrayFromHeap(y);
  const target = heap.typedArrayFromHeap(out);
  for (let i = 0; i < target.length; i++) target[i] = output[i] > 0 ? gradient[i] : 0;
  return out;
}

/** Registers the three kernels for `backendName` (default wasm). Safe to call more than once. */
export function registerFastGradients(backendName = 'wasm'): void {
  const kernels = [[FAST_MIRROR_PAD_GRADIENT, mirrorPadGradientInJs], [FAST_MAX_POOL_2X2_GRADIENT, maxPool2x2GradientInJs], [FAST_RELU_GRADIENT, reluGradientInJs]] as const;
  for (const [kernelName, kernelFunc] of kernels) {
    if (tf.getKernel(kernelName, backendName)) continue;
    tf.registerKernel({ kernelName, backendName, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  }
}
