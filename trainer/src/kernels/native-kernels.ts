/**
 * The wasm backend's heavy kernels natively, where the `nst-native` addon is built (`npm run
 * setup:native`; trainer/native/): on oneDNN the forward conv (with bias and ReLU, VGG's fused
 * layers), its input and kernel gradients, and BatchMatMul (the Gram matrices); as vectorised
 * loops on every thread the TransformerNet's instance normalisation (+ ReLU) forward and backward
 * (FUSED_INSTANCE_NORM_KERNEL), MirrorPad, 2x2 MaxPool and Concat (whose small blocks, one pixel's
 * channels in the TransformerNet's upsampling, wasm copies one at a time in JavaScript), and the
 * one-pass MirrorPad, max-pooling and ReLU gradients of fast-gradients.ts and the Adam update of
 * adam-update.ts. oneDNN is what PyTorch's CPU convolutions run on: with AVX2 or AVX-512 it
 * does several times the work per cycle that XNNPACK can in wasm's 128-bit SIMD, and in bfloat16
 * (setConvolutionPrecision, where the CPU has it) about twice float32's again. Together a
 * training step is 6-11x faster than on wasm alone in float32, 11x in bfloat16; every other op
 * stays on wasm. The addon reads and writes the tensors where they lie, in the wasm heap.
 *
 * Without the addon (not built, no oneDNN, another platform), or with NST_NATIVE=off in the
 * environment, nothing is registered and training runs on wasm alone (conv2d-gradients.ts). What
 * the addon does not take (a dilated or NCHW conv, an activation other than ReLU, a product of
 * more than 3 axes, another pooling, padding of other axes, int32 data) goes to the kernel it
 * replaced (override-kernel.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { FUSED_INSTANCE_NORM_KERNEL } from 'nst-video/model';
import type { ConvGradientAttrs } from './conv2d-gradients.js';
import { ADAM_UPDATE_KERNEL, type AdamUpdateAttrs } from './adam-update.js';
import { FAST_MAX_POOL_2X2_GRADIENT, FAST_MIRROR_PAD_GRADIENT, FAST_RELU_GRADIENT } from './fast-gradients.js';
import { overrideKernel, type KernelArgs } from './override-kernel.js';
import type { WasmHeap } from './wasm-heap.js';

type TensorInfo = tf.TensorInfo;
type Shape4 = [number, number, number, number];

/** What the addon exports (trainer/native/nst-native.cpp). */
interface NstNative {
  conv2dForward(x: Float32Array, xShape: Shape4, kernel: Float32Array, kernelShape: Shape4, bias: Float32Array | null, y: Float32Array, yShape: Shape4, strides: number[], pads: number[], relu: boolean): void;
  conv2dBackwardData(dy: Float32Array, dyShape: Shape4, kernel: Float32Array, kernelShape: Shape4, dx: Float32Array, dxShape: Shape4, strides: number[], pads: number[]): void;
  conv2dBackwardWeights(x: Float32Array, xShape: Shape4, dy: Float32Array, dyShape: Shape4, dw: Float32Array, kernelShape: Shape4, strides: number[], pads: number[]): void;
  matmul(a: Float32Array, aShape: number[], b: Float32Array, bShape: number[], y: Float32Array, yShape: number[], transposeA: boolean, transposeB: boolean): void;
  mirrorPad(x: Float32Array, xShape: Shape4, y: Float32Array, yShape: Shape4, pads: number[], reflect: boolean): void;
  mirrorPadGradient(dy: Float32Array, dyShape: Shape4, dx: Float32Array, xShape: Shape4, pads: number[], reflect: boolean): void;
  maxPool2x2(x: Float32Array, xShape: Shape4, y: Float32Array): void;
  concat(parts: Float32Array[], outer: number, y: Float32Array): void;
  reluGradient(dy: Float32Array, y: Float32Array, dx: Float32Array): void;
  adamUpdate(w: Float32Array, m: Float32Array, v: Float32Array, g: Float32Array, w1: Float32Array, m1: Float32Array, v1: Float32Array, attrs: AdamUpdateAttrs): void;
  maxPool2x2Gradient(x: Float32Array, xShape: Shape4, pooled: Float32Array, dy: Float32Array, dx: Float32Array): void;
  instanceNormForward(x: Float32Array, xShape: Shape4, scale: Float32Array, offset: Float32Array, y: Float32Array, epsilon: number, relu: boolean): void;
  instanceNormBackward(dy: Float32Array, x: Float32Array, xShape: Shape4, scale: Float32Array, offset: Float32Array, epsilon: number, relu: boolean, dx: Float32Array, dScale: Float32Array, dOffset: Float32Array): void;
  setThreads(threads: number): void;
  setPrecision(precision: ConvolutionPrecision): void;
  hasBfloat16(): boolean;
  version(): string;
}

/**
 * What the native convolutions compute in: float32, or bfloat16 inputs with float32 sums and
 * results (mixed precision, as PyTorch's autocast; inputs rounded to 8 significant bits, results
 * within ~0.3 % of float32's). Everything else stays float32: the Gram matrices, the losses, the
 * weights and Adam.
 */
export type ConvolutionPrecision = 'float32' | 'bfloat16';

/** Where `npm run setup:native` puts the addon. */
export const NATIVE_ADDON_PATH = fileURLToPath(new URL('../../native/build/nst-native.node', import.meta.url));

let loaded: { addon?: NstNative; reason: string } | undefined;

/** The addon, or why there is none (for the user: what to run). Loaded once. */
export function nativeAddon(): { addon?: NstNative; reason: string } {
  if (loaded) return loaded;
  if (process.env.NST_NATIVE === 'off') {
    loaded = { reason: 'NST_NATIVE=off' };
    return loaded;
  }
  if (!existsSync(NATIVE_ADDON_PATH)) {
    loaded = { reason: 'the nst-native addon is not built ("npm run setup:native" builds it where g++ and oneDNN (libdnnl-dev) are installed)' };
    return loaded;
  }
  // OpenMP's threads otherwise spin for a while after each convolution, on the cores the wasm
  // kernels between convolutions need. Read when the library loads, so set before.
  process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
  try {
    const addon = createRequire(import.meta.url)(NATIVE_ADDON_PATH) as NstNative;
    loaded = { addon, reason: addon.version() };
  } catch (error) {
    loaded = { reason: `the nst-native addon at ${NATIVE_ADDON_PATH} does not load (${(error as Error).message}); rebuild it with "npm run setup:native"` };
  }
  return loaded;
}

/**
 * Whether the native convolutions can compute in bfloat16 here, or why not: the addon must be
 * loaded and the CPU must have bfloat16 dot products (AVX512-BF16 or AMX), where it is 1.5-4x
 * faster than float32; elsewhere oneDNN would only emulate it.
 */
export function nativeBfloat16(): { available: boolean; reason: string } {
  const { addon, reason } = nativeAddon();
  if (!addon) return { available: false, reason };
  return addon.hasBfloat16() ? { available: true, reason } : { available: false, reason: `this CPU has no bfloat16 instructions (AVX512-BF16 or AMX; ${reason})` };
}

/** Sets what the native convolutions compute in, from the next one on; float32 needs no addon. */
export function setConvolutionPrecision(precision: ConvolutionPrecision): void {
  const { addon } = nativeAddon();
  if (addon) addon.setPrecision(precision);
  else if (precision !== 'float32') throw new Error(`bfloat16 convolutions need the nst-native addon: ${nativeAddon().reason}.`);
}

/** A conv kernel's attributes, forward (with FusedConv2D's activation) and gradients. */
type ConvAttrs = ConvGradientAttrs & { activation?: string; inputShape?: Shape4; filterShape?: Shape4 };

/** The strides and padding (top, bottom, left, right) tfjs computes, or undefined for a conv the addon does not take. */
function geometry(attrs: ConvAttrs, xShape: number[], filterShape: number[]): { strides: number[]; pads: number[]; outShape: Shape4 } | undefined {
  const dilations = attrs.dilations ?? 1;
  const undilated = dilations === 1 || (Array.isArray(dilations) && dilations[0] === 1 && dilations[1] === 1);
  if (attrs.dataFormat !== 'NHWC' || !undilated || xShape.length !== 4) return undefined;
  const info = tf.backend_util.computeConv2DInfo(xShape as Shape4, filterShape as Shape4, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
  const { top, bottom, left, right } = info.padInfo;
  if ([top, bottom, left, right].some((p) => p < 0)) return undefined;
  return { strides: [info.strideHeight, info.strideWidth], pads: [top, bottom, left, right], outShape: [info.batchSize, info.outHeight, info.outWidth, info.outChannels] };
}

const allFloat = (...infos: (TensorInfo | undefined)[]) => infos.every((info) => !info || info.dtype === 'float32');

/** A gradient's geometry from its forward conv's input and kernel shapes, if the addon takes it and it gives `dy`'s shape. */
function gradientGeometry(attrs: ConvAttrs, xShape: number[], filterShape: number[], dy: TensorInfo, other: TensorInfo) {
  const g = allFloat(dy, other) ? geometry(attrs, xShape, filterShape) : undefined;
  return g && g.outShape.join() === dy.shape.join() ? g : undefined;
}

/**
 * Allocates a kernel's output and lets `compute` write it, through views of the wasm heap taken
 * after the allocation (growing the heap detaches earlier ones).
 */
function computeInto(args: KernelArgs, shape: number[], compute: (view: (info: TensorInfo) => Float32Array, out: Float32Array) => void): TensorInfo {
  return computeIntoEach(args, [shape], (view, [out]) => compute(view, out))[0];
}

/** computeInto for a kernel with several outputs, of `shapes`. */
function computeIntoEach(args: KernelArgs, shapes: number[][], compute: (view: (info: TensorInfo) => Float32Array, outs: Float32Array[]) => void): TensorInfo[] {
  const backend = args.backend as WasmHeap;
  const outputs = shapes.map((shape) => backend.makeOutput(shape, 'float32'));
  const view = (info: TensorInfo) => backend.typedArrayFromHeap(info);
  compute(view, outputs.map(view));
  return outputs;
}

/**
 * Registers the native kernels as `backendName`'s Conv2D, FusedConv2D, Conv2DBackpropInput,
 * Conv2DBackpropFilter, BatchMatMul, the fast gradients and the fused instance normalisation,
 * with `threads` threads, if the addon loads. Returns what
 * runs the convolutions, in words, for the run's log. Call after the wasm backend's other kernels
 * are in place (the ones replaced here are kept for what the addon does not take).
 */
export function registerNativeKernels(threads: number, backendName = 'wasm'): { native: boolean; description: string } {
  const { addon, reason } = nativeAddon();
  if (!addon) return { native: false, description: `wasm (XNNPACK): ${reason}` };
  addon.setThreads(threads);
  const replace = (kernelName: string, handle: (args: KernelArgs) => TensorInfo | TensorInfo[] | undefined) => overrideKernel(kernelName, backendName, `native${kernelName}`, handle);
  const forward = (args: KernelArgs): TensorInfo | undefined => {
    const { x, filter, bias, preluActivationWeights } = args.inputs as Record<string, TensorInfo | undefined>;
    const attrs = args.attrs as unknown as ConvAttrs;
    const activation = attrs.activation ?? 'linear';
    if (!x || !filter || preluActivationWeights || !(activation === 'linear' || activation === 'relu') || !allFloat(x, filter, bias)) return undefined;
    if (bias && bias.shape.length !== 1) return undefined;
    const g = geometry(attrs, x.shape, filter.shape);
    if (!g) return undefined;
    return computeInto(args, g.outShape, (view, y) =>
      addon.conv2dForward(view(x), x.shape as Shape4, view(filter), filter.shape as Shape4, bias ? view(bias) : null, y, g.outShape, g.strides, g.pads, activation === 'relu'),
    );
  };
  replace('Conv2D', forward);
  replace('FusedConv2D', forward);
  replace('Conv2DBackpropInput', (args) => {
    const { dy, filter } = args.inputs as Record<string, TensorInfo>;
    const inputShape = (args.attrs as unknown as ConvAttrs).inputShape!;
    const g = gradientGeometry(args.attrs as unknown as ConvAttrs, inputShape, filter.shape, dy, filter);
    if (!g) return undefined;
    return computeInto(args, [...inputShape], (view, dx) =>
      addon.conv2dBackwardData(view(dy), dy.shape as Shape4, view(filter), filter.shape as Shape4, dx, inputShape, g.strides, g.pads),
    );
  });
  replace('Conv2DBackpropFilter', (args) => {
    const { x, dy } = args.inputs as Record<string, TensorInfo>;
    const filterShape = (args.attrs as unknown as ConvAttrs).filterShape!;
    const g = gradientGeometry(args.attrs as unknown as ConvAttrs, x.shape, filterShape, dy, x);
    if (!g) return undefined;
    return computeInto(args, [...filterShape], (view, dw) =>
      addon.conv2dBackwardWeights(view(x), x.shape as Shape4, view(dy), dy.shape as Shape4, dw, filterShape, g.strides, g.pads),
    );
  });
  replace('BatchMatMul', (args) => {
    const { a, b } = args.inputs as Record<string, TensorInfo>;
    const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
    if (a.shape.length !== 3 || b.shape.length !== 3 || !allFloat(a, b)) return undefined;
    const [m, k] = transposeA ? [a.shape[2], a.shape[1]] : [a.shape[1], a.shape[2]];
    const [kb, n] = transposeB ? [b.shape[2], b.shape[1]] : [b.shape[1], b.shape[2]];
    const batch = Math.max(a.shape[0], b.shape[0]);
    if (k !== kb || ![a.shape[0], b.shape[0]].every((size) => size === batch || size === 1)) return undefined;
    return computeInto(args, [batch, m, n], (view, y) => addon.matmul(view(a), a.shape, view(b), b.shape, y, [batch, m, n], transposeA, transposeB));
  });
  // Copies that wasm does in one thread or, for Concat's small blocks, in JavaScript.
  replace('MirrorPad', (args) => {
    const { x } = args.inputs as Record<string, TensorInfo>;
    const { paddings, mode } = args.attrs as unknown as { paddings: [number, number][]; mode: 'reflect' | 'symmetric' };
    const onHeightAndWidth = x.shape.length === 4 && [paddings[0], paddings[3]].every(([before, after]) => before === 0 && after === 0);
    if (!onHeightAndWidth || !allFloat(x)) return undefined;
    const pads = [...paddings[1], ...paddings[2]];
    const [b, h, w, c] = x.shape;
    const yShape: Shape4 = [b, h + pads[0] + pads[1], w + pads[2] + pads[3], c];
    return computeInto(args, yShape, (view, y) => addon.mirrorPad(view(x), x.shape as Shape4, y, yShape, pads, mode === 'reflect'));
  });
  replace('MaxPool', (args) => {
    const { x } = args.inputs as Record<string, TensorInfo>;
    const { filterSize, strides, pad } = args.attrs as unknown as { filterSize: number | number[]; strides: number | number[]; pad: unknown };
    const twos = (value: number | number[]) => [value].flat().every((v) => v === 2);
    if (x.shape.length !== 4 || !twos(filterSize) || !twos(strides) || pad !== 'valid' || !allFloat(x)) return undefined;
    const [b, h, w, c] = x.shape;
    return computeInto(args, [b, Math.floor(h / 2), Math.floor(w / 2), c], (view, y) => addon.maxPool2x2(view(x), x.shape as Shape4, y));
  });
  replace('Concat', (args) => {
    const parts = args.inputs as unknown as TensorInfo[];
    const rank = parts[0]?.shape.length ?? 0;
    const axis = tf.util.parseAxisParam((args.attrs as unknown as { axis: number }).axis, parts[0]?.shape ?? [])[0];
    const fits = parts.every((part) => part.shape.length === rank && part.shape.every((size, i) => i === axis || size === parts[0].shape[i]));
    const shape = parts[0]?.shape.map((size, i) => (i === axis ? parts.reduce((sum, part) => sum + part.shape[i], 0) : size));
    if (!fits || !allFloat(...parts) || !shape || parts.some((part) => tf.util.sizeFromShape(part.shape) === 0)) return undefined;
    const outer = tf.util.sizeFromShape(shape.slice(0, axis));
    return computeInto(args, shape, (view, y) => addon.concat(parts.map(view), outer, y));
  });
  // The one-pass gradients of fast-gradients.ts, on every thread and vectorised.
  replace(FAST_MIRROR_PAD_GRADIENT, (args) => {
    const { dy } = args.inputs as Record<string, TensorInfo>;
    const { xShape, paddings, mode } = args.attrs as unknown as { xShape: Shape4; paddings: [number, number][]; mode: 'reflect' | 'symmetric' };
    return computeInto(args, [...xShape], (view, dx) => addon.mirrorPadGradient(view(dy), dy.shape as Shape4, dx, xShape, [...paddings[1], ...paddings[2]], mode === 'reflect'));
  });
  replace(FAST_MAX_POOL_2X2_GRADIENT, (args) => {
    const { x, pooled, dy } = args.inputs as Record<string, TensorInfo>;
    return computeInto(args, x.shape, (view, dx) => addon.maxPool2x2Gradient(view(x), x.shape as Shape4, view(pooled), view(dy), dx));
  });
  replace(FAST_RELU_GRADIENT, (args) => {
    const { dy, y } = args.inputs as Record<string, TensorInfo>;
    return computeInto(args, y.shape, (view, dx) => addon.reluGradient(view(dy), view(y), dx));
  });
  replace(ADAM_UPDATE_KERNEL, (args) => {
    const { variable, m, v, gradient } = args.inputs as Record<string, TensorInfo>;
    return computeIntoEach(args, [variable.shape, m.shape, v.shape], (view, [w1, m1, v1]) =>
      addon.adamUpdate(view(variable), view(m), view(v), view(gradient), w1, m1, v1, args.attrs as unknown as AdamUpdateAttrs),
    );
  });
  registerInstanceNorm(addon, backendName);
  return { native: true, description: `${reason}, ${threads} thread${threads === 1 ? '' : 's'}` };
}

/** The gradient kernel of FUSED_INSTANCE_NORM_KERNEL: inputs dy, x, scale, offset; outputs dx, dScale, dOffset. */
const INSTANCE_NORM_GRADIENT_KERNEL = 'NstInstanceNormGradient';

type InstanceNormAttrs = { epsilon: number; relu: boolean };

/**
 * The TransformerNet's instance normalisation (and the ReLU after it) as one kernel forward and one
 * backward (transformer-net.ts uses it where the backend has it). The backward pass recomputes the
 * mean and deviation from x, two passes, rather than keeping them as further outputs.
 */
function registerInstanceNorm(addon: NstNative, backendName: string): void {
  const fourAxes = (info: TensorInfo) => info.shape as Shape4;
  tf.registerKernel({
    kernelName: FUSED_INSTANCE_NORM_KERNEL,
    backendName,
    kernelFunc: ((args: KernelArgs) => {
      const { x, scale, offset } = args.inputs as Record<string, TensorInfo>;
      const { epsilon, relu } = args.attrs as unknown as InstanceNormAttrs;
      return computeInto(args, x.shape, (view, y) => addon.instanceNormForward(view(x), fourAxes(x), view(scale), view(offset), y, epsilon, relu));
    }) as unknown as tf.KernelFunc,
  });
  tf.registerKernel({
    kernelName: INSTANCE_NORM_GRADIENT_KERNEL,
    backendName,
    kernelFunc: ((args: KernelArgs) => {
      const { dy, x, scale, offset } = args.inputs as Record<string, TensorInfo>;
      const { epsilon, relu } = args.attrs as unknown as InstanceNormAttrs;
      return computeIntoEach(args, [x.shape, scale.shape, offset.shape], (view, [dx, dScale, dOffset]) =>
        addon.instanceNormBackward(view(dy), view(x), fourAxes(x), view(scale), view(offset), epsilon, relu, dx, dScale, dOffset),
      );
    }) as unknown as tf.KernelFunc,
  });
  // One gradient kernel gives all three gradients; it runs when the tape reaches this node, so
  // its results live in the backward pass's scope, as every other gradient does.
  tf.registerGradient({
    kernelName: FUSED_INSTANCE_NORM_KERNEL,
    inputsToSave: ['x', 'scale', 'offset'],
    gradFunc: (dy, saved, attrs) => {
      const [x, scale, offset] = saved;
      const [dx, dScale, dOffset] = tf.engine().runKernel(INSTANCE_NORM_GRADIENT_KERNEL, { dy: dy as tf.Tensor, x, scale, offset }, attrs as never) as tf.Tensor[];
      return { x: () => dx, scale: () => dScale, offset: () => dOffset };
    },
  });
}
