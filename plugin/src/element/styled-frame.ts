/**
 * The network's output for one frame on its way from tfjs to the presenter, tagged by the route
 * it took (TfjsBridge picks the route; NstGpuPresenter draws every kind): RGBA8 pixels read back
 * through the CPU, a texture on the renderer's own WebGL2 context, or a buffer on the renderer's
 * own WebGPU device. Every kind is `width` x `height` with its first row at the top.
 */
// The published .d.ts names WebGPU types (GPUBuffer): a consumer's tsc gets them from here.
/// <reference types="@webgpu/types" preserve="true" />
import * as tf from '@tensorflow/tfjs-core';

interface StyledFrameBase {
  readonly width: number;
  readonly height: number;
  /** Hands the frame back to tfjs once it has been drawn (nothing to do for pixels). */
  release(): void;
}

/** Read back from tfjs (wasm, cpu, or a GPU backend that cannot share the renderer's GPU): RGBA8. */
export interface StyledPixels extends StyledFrameBase {
  readonly kind: 'readback';
  readonly data: Uint8Array;
}

/** A texture on the renderer's WebGL2 context, where tfjs ran: RGBA float, 0..1. */
export interface StyledWebGlTexture extends StyledFrameBase {
  readonly kind: 'webgl-texture';
  readonly texture: WebGLTexture;
}

/** A buffer on the renderer's WebGPU device, which is tfjs's: rgba32float texels, 0..1, rows `bytesPerRow` apart. */
export interface StyledWebGpuBuffer extends StyledFrameBase {
  readonly kind: 'webgpu-buffer';
  readonly buffer: GPUBuffer;
  readonly bytesPerRow: number;
}

export type StyledFrame = StyledPixels | StyledWebGlTexture | StyledWebGpuBuffer;

/**
 * The network's output `rgb` ([h, w, 3], 0..255) as what both GPU routes hand over: RGBA float
 * 0..1 with an opaque alpha, each row padded with zeros to `rowLength` texels. Disposes `rgb`.
 */
export function rgbaUnitFloat(rgb: tf.Tensor3D, rowLength = rgb.shape[1]): tf.Tensor3D {
  const [height, width] = rgb.shape;
  const rgba = tf.tidy(() => {
    const withAlpha = tf.concat<tf.Tensor3D>([tf.clipByValue(tf.div<tf.Tensor3D>(rgb, 255), 0, 1), tf.ones<tf.Rank.R3>([height, width, 1])], 2);
    return rowLength === width ? withAlpha : tf.pad(withAlpha, [[0, 0], [0, rowLength - width], [0, 0]]);
  });
  rgb.dispose();
  return rgba;
}
