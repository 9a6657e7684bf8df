/**
 * Convolution gradients for the wasm backend, composed from its forward kernels.
 *
 * tfjs-backend-wasm 4.22 has no `Conv2DBackpropFilter`, so nothing with a trainable conv can train
 * there, and its `Conv2DBackpropInput` is a slow scalar loop. Both gradients are built here from
 * its fast kernels (XNNPACK's GEMM and convolution; see Dumoulin & Visin, "A guide to convolution
 * arithmetic"):
 *
 * - filter gradient: dW[kh,kw,ci,co] = sum_{b,i,j} x[b, i*s+kh-top, j*s+kw-left, ci] * dy[b,i,j,co],
 *   one matrix product of the input's patches (row (kh,kw,ci), a column per output pixel) with dy
 *   as [pixels, co]. Where that patch matrix would be too large (the 9x9 output layer at 256 px),
 *   a stride-1 convolution of x (channels as batch: [ci,H,W,b]) with dy as the filter
 *   ([oh,ow,b,co]) dilated by the stride, transposed back: the same sum, at about half the speed.
 * - input gradient: dx = dy with (stride-1) zeros between its pixels, padded by kernel-1-top, convolved
 *   with the kernel rotated 180 degrees and its in/out channels swapped.
 *
 * Only NHWC, dilation 1 (what the transformer and VGG use) are handled; anything else is refused
 * with an error, never computed wrongly.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { WasmHeap } from './wasm-heap.js';

type TensorInfo = tf.TensorInfo;
type Backend = tf.KernelBackend & { disposeData(dataId: object): boolean };

export interface ConvGradientAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dilations?: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** Calls another kernel of the same backend directly (nested ops are not taped, as intended). */
function run(backend: Backend, name: string, inputs: Record<string, TensorInfo>, attrs: Record<string, unknown> = {}): TensorInfo {
  const kernel = tf.getKernel(name, tf.getBackend());
  if (!kernel) throw new Error(`conv2d-gradients: the ${tf.getBackend()} backend has no ${name} kernel.`);
  const result = kernel.kernelFunc({ inputs, backend, attrs: attrs as tf.NamedAttrMap });
  return Array.isArray(result) ? result[0] : (result as TensorInfo);
}

function release(backend: Backend, ...infos: TensorInfo[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}

/** Padding and strides of the forward conv, after checking it is one this file handles. */
function forwardGeometry(kernelName: string, attrs: ConvGradientAttrs, inputShape: number[], filterShape: number[]) {
  checkSupported(attrs, kernelName);
  const info = tf.backend_util.computeConv2DInfo(
    inputShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  return { top: info.padInfo.top, left: info.padInfo.left, sh: info.strideHeight, sw: info.strideWidth };
}

function checkSupported(attrs: ConvGradientAttrs, kernelName: string): void {
  if (attrs.dataFormat !== 'NHWC') throw new Error(`${kernelName} (composed): only NHWC is supported, got ${attrs.dataFormat}.`);
  const dilations = attrs.dilations ?? 1;
  if (!(dilations === 1 || (Array.isArray(dilations) && dilations[0] === 1 && dilations[1] === 1))) {
    throw new Error(`${kernelName} (composed): only dilation 1 is supported, got ${JSON.stringify(dilations)}.`);
  }
}

/** Pads (positive amounts) or crops (negative amounts) the H and W axes of an NHWC tensor. */
function padOrCrop(backend: Backend, x: TensorInfo, top: number, bottom: number, left: number, right: number): TensorInfo {
  let current = x;
  const padding = [Math.max(top, 0), Math.max(bottom, 0), Math.max(left, 0), Math.max(right, 0)];
  if (padding.some((p) => p > 0)) {
    current = run(backend, 'PadV2', { x: current }, {
      paddings: [[0, 0], [padding[0], padding[1]], [padding[2], padding[3]], [0, 0]],
      constantValue: 0,
    });
  }
  const crop = [Math.max(-top, 0), Math.max(-bottom, 0), Math.max(-left, 0), Math.max(-right, 0)];
  if (crop.some((c) => c > 0)) {
    const [b, h, w, c] = current.shape;
    const sliced = run(backend, 'Slice', { x: current }, {
      begin: [0, crop[0], crop[2], 0],
      size: [b, h - crop[0] - crop[1], w - crop[2] - crop[3], c],
    });
    if (current !== x) release(backend, current);
    current = sliced;
  }
  return current;
}

/**
 * Filter gradient: see the file comment. Inputs x [b,H,W,ci] and dy [b,oh,ow,co]. A layer whose
 * patch matrix would hold more than `maxPatchFloats` floats takes the convolution instead.
 */
export function conv2dBackpropFilterComposed(
  args: { inputs: tf.NamedTensorInfoMap; backend: object; attrs?: tf.NamedAttrMap },
  maxPatchFloats = MAX_PATCH_FLOATS,
): TensorInfo {
  const backend = args.backend as Backend;
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const attrs = args.attrs as unknown as ConvGradientAttrs & { filterShape: [number, number, number, number] };
  const { top, left, sh, sw } = forwardGeometry('Conv2DBackpropFilter', attrs, x.shape, attrs.filterShape);
  const [kh, kw, ci, co] = attrs.filterShape;
  const [b, h, w] = x.shape;
  const [, oh, ow] = dy.shape;
  // Rows of padded x that the forward conv read: (oh-1)*s + kh; pad or crop the bottom to exactly that.
  const needH = (oh - 1) * sh + kh;
  const needW = (ow - 1) * sw + kw;
  const xPadded = padOrCrop(backend, x, top, needH - h - top, left, needW - w - left);
  const gradient =
    kh * kw * ci * b * oh * ow <= maxPatchFloats
      ? filterGradientByMatMul(backend, xPadded, dy, kh, kw, sh, sw)
      : filterGradientByConv(backend, xPadded, dy, sh, sw);
  if (xPadded !== x) release(backend, xPadded);
  if (gradient.shape.join() !== [kh, kw, ci, co].join()) {
    throw new Error(`Conv2DBackpropFilter (composed): got shape ${gradient.shape}, expected ${[kh, kw, ci, co]}.`);
  }
  return gradient;
}

/**
 * The largest patch matrix filterGradientByMatMul builds, in floats: 256 MiB of wasm's 4 GiB. The
 * 3x3 layers of the full network at 256 px fit (up2: 38M floats); the 9x9 output layer (170M)
 * takes the convolution.
 */
export const MAX_PATCH_FLOATS = 2 ** 26;

/**
 * dW = patches x dy as one matrix product: row (u, v, ci) of the patch matrix holds, for every
 * output pixel, the input pixel that tap (u, v) read in channel ci. Copying the patches costs 1/co
 * of the product's work, and XNNPACK's GEMM runs 1.6-2.3x (strided layers 2-5x) faster than its
 * convolution with dy as the filter (filterGradientByConv), which, with the batch as its only
 * input channel, reads one float per pointer of its indirection buffer. xPadded is
 * [b, (oh-1)*sh+kh, (ow-1)*sw+kw, ci].
 */
function filterGradientByMatMul(backend: Backend, xPadded: TensorInfo, dy: TensorInfo, kh: number, kw: number, sh: number, sw: number): TensorInfo {
  const [b, , , ci] = xPadded.shape;
  const [, oh, ow, co] = dy.shape;
  const pixels = b * oh * ow;
  // Channel-major [ci, b, H, W], split into the stride's phases: tap (u, v) of a strided conv only
  // ever reads phase (u % sh, v % sw), from row floor(u / sh) and column floor(v / sw) on.
  const channelMajor = run(backend, 'Transpose', { x: xPadded }, { perm: [3, 0, 1, 2] });
  const { phases, height, width, temporaries } = stridePhases(backend, channelMajor, sh, sw);
  const heap = backend as unknown as WasmHeap;
  const patches = heap.makeOutput([1, kh * kw * ci, pixels], 'float32');
  // Views into the wasm heap, taken after the last allocation (a growing heap detaches them).
  const out = heap.typedArrayFromHeap(patches);
  const phaseViews = phases.map((phase) => heap.typedArrayFromHeap(phase));
  const planes = ci * b;
  for (let u = 0; u < kh; u++) {
    for (let v = 0; v < kw; v++) {
      const source = phaseViews[(u % sh) * sw + (v % sw)];
      const [row, column] = [Math.floor(u / sh), Math.floor(v / sw)];
      let target = (u * kw + v) * planes * oh * ow;
      for (let plane = 0; plane < planes; plane++) {
        for (let i = 0; i < oh; i++, target += ow) {
          const from = (plane * height + row + i) * width + column;
          out.set(source.subarray(from, from + ow), target);
        }
      }
    }
  }
  const dyRows = run(backend, 'Reshape', { x: dy }, { shape: [1, pixels, co] });
  const product = run(backend, 'BatchMatMul', { a: patches, b: dyRows }, { transposeA: false, transposeB: false }); // [1, kh*kw*ci, co]
  const gradient = run(backend, 'Reshape', { x: product }, { shape: [kh, kw, ci, co] });
  release(backend, channelMajor, patches, dyRows, product, ...temporaries);
  return gradient;
}

/**
 * The stride's phases of channel-major x [ci, b, H, W]: phase (p, q) is [ci*b, H/sh, W/sw] of the
 * pixels (p + sh*i, q + sw*j), in the order p*sw + q (H and W zero-padded to multiples of the
 * stride). Strided slicing is a scalar loop on wasm (86 ms for 0.5M floats); this is a reshape
 * and one transpose.
 */
function stridePhases(backend: Backend, x: TensorInfo, sh: number, sw: number): { phases: TensorInfo[]; height: number; width: number; temporaries: TensorInfo[] } {
  const [ci, b, h, w] = x.shape;
  if (sh === 1 && sw === 1) return { phases: [x], height: h, width: w, temporaries: [] };
  const [height, width] = [Math.ceil(h / sh), Math.ceil(w / sw)];
  const padded =
    height * sh === h && width * sw === w
      ? x
      : run(backend, 'PadV2', { x }, { paddings: [[0, 0], [0, 0], [0, height * sh - h], [0, width * sw - w]], constantValue: 0 });
  const rows = run(backend, 'Reshape', { x: padded }, { shape: [ci * b * height, sh, width, sw] });
  const byPhase = run(backend, 'Transpose', { x: rows }, { perm: [1, 3, 0, 2] }); // [sh, sw, ci*b*height, width]
  const phases: TensorInfo[] = [];
  for (let p = 0; p < sh; p++) {
    for (let q = 0; q < sw; q++) {
      phases.push(run(backend, 'Slice', { x: byPhase }, { begin: [p, q, 0, 0], size: [1, 1, ci * b * height, width] }));
    }
  }
  const temporaries = [...(padded !== x ? [padded] : []), rows, byPhase, ...phases];
  return { phases, height, width, temporaries };
}

/**
 * dW as a stride-1 convolution of x (channels as the batch: [ci,H,W,b]) with dy as the filter
 * ([oh,ow,b,co]) dilated by the stride: no patch matrix, for layers whose one would be too large.
 */
function filterGradientByConv(backend: Backend, xPadded: TensorInfo, dy: TensorInfo, sh: number, sw: number): TensorInfo {
  const xT = run(backend, 'Transpose', { x: xPadded }, { perm: [3, 1, 2, 0] }); // [ci, H, W, b]
  const dyT = run(backend, 'Transpose', { x: dy }, { perm: [1, 2, 0, 3] }); // [oh, ow, b, co]
  const conv = run(backend, 'Conv2D', { x: xT, filter: dyT }, {
    strides: [1, 1],
    pad: 'valid',
    dataFormat: 'NHWC',
    dilations: [sh, sw],
  }); // [ci, kh, kw, co]
  const result = run(backend, 'Transpose', { x: conv }, { perm: [1, 2, 0, 3] }); // [kh, kw, ci, co]
  release(backend, xT, dyT, conv);
  return result;
}

/** Input gradient: see the file comment. Inputs dy [b,oh,ow,co] and filter [kh,kw,ci,co]. */
export function conv2dBackpropInputComposed(args: { inputs: tf.NamedTensorInfoMap; backend: object; attrs?: tf.NamedAttrMap }): TensorInfo {
  const backend = args.backend as Backend;
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  const attrs = args.attrs as unknown as ConvGradientAttrs & { inputShape: [number, number, number, number] };
  const { top, left, sh, sw } = forwardGeometry('Conv2DBackpropInput', attrs, attrs.inputShape, filter.shape);
  const [b, h, w, ci] = attrs.inputShape;
  const [kh, kw, , co] = filter.shape;
  const [, oh, ow] = dy.shape;
  const temporaries: TensorInfo[] = [];
  // Put (stride-1) zeros after every pixel of dy: [b,oh,ow,co] -> [b, oh*sh, ow*sw, co].
  let spread = dy;
  if (sh > 1 || sw > 1) {
    const asRows = run(backend, 'Reshape', { x: dy }, { shape: [b * oh, 1, ow, 1, co] });
    const padded = run(backend, 'PadV2', { x: asRows }, {
      paddings: [[0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]],
      constantValue: 0,
    });
    spread = run(backend, 'Reshape', { x: padded }, { shape: [b, oh * sh, ow * sw, co] });
    temporaries.push(asRows, padded, spread);
  }
  // Full correlation with the rotated kernel: pad by kernel-1-top before, and after whatever makes
  // the result exactly H x W (negative = crop the trailing zeros).
  const spreadH = oh * sh;
  const spreadW = ow * sw;
  const padTop = kh - 1 - top;
  const padLeft = kw - 1 - left;
  const padded = padOrCrop(backend, spread, padTop, h + kh - 1 - padTop - spreadH, padLeft, w + kw - 1 - padLeft - spreadW);
  if (padded !== spread) temporaries.push(padded);
  const rotated = rotatedFilter(backend, filter); // [kh, kw, co, ci]
  const result = run(backend, 'Conv2D', { x: padded, filter: rotated }, {
    strides: [1, 1],
    pad: 'valid',
    dataFormat: 'NHWC',
    dilations: [1, 1],
  });
  release(backend, rotated, ...temporaries.filter((t) => t !== dy));
  if (result.shape.join() !== [b, h, w, ci].join() || co !== dy.shape[3]) {
    throw new Error(`Conv2DBackpropInput (composed): got shape ${result.shape}, expected ${[b, h, w, ci]}.`);
  }
  return result;
}

/** The kernel rotated 180 degrees with in/out channels swapped: [kh, kw, ci, co] -> [kh, kw, co, ci]. */
function rotatedFilter(backend: Backend, filter: TensorInfo): TensorInfo {
  const reversed = run(backend, 'Reverse', { x: filter }, { dims: [0, 1] });
  const rotated = run(backend, 'Transpose', { x: reversed }, { perm: [0, 1, 3, 2] });
  release(backend, reversed);
  return rotated;
}

export const COMPOSED_CONV_GRADIENT_KERNELS = {
  Conv2DBackpropFilter: conv2dBackpropFilterComposed,
  Conv2DBackpropInput: conv2dBackpropInputComposed,
} as const;

/**
 * Registers the composed gradients for `backendName` (default wasm), replacing any existing
 * kernel of the same name. Safe to call more than once.
 */
export function registerComposedConvGradients(backendName = 'wasm', kernels: (keyof typeof COMPOSED_CONV_GRADIENT_KERNELS)[] = ['Conv2DBackpropFilter', 'Conv2DBackpropInput']): void {
  for (const kernelName of kernels) {
    if (tf.getKernel(kernelName, backendName)) tf.unregisterKernel(kernelName, backendName);
    tf.registerKernel({ kernelName, backendName, kernelFunc: COMPOSED_CONV_GRADIENT_KERNELS[kernelName] as unknown as tf.KernelFunc });
  }
}
