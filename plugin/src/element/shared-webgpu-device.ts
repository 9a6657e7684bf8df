/**
 * Zero-copy from tfjs to three.js on WebGPU: three's renderer is made on tfjs's GPUDevice, so
 * each network output is a GPU buffer the renderer can copy into a texture (one
 * `copyBufferToTexture`), never through the CPU.
 */
// The published .d.ts names WebGPU types (GPUDevice): a consumer's tsc gets them from here.
/// <reference types="@webgpu/types" preserve="true" />
import * as tf from '@tensorflow/tfjs-core';
import { rgbaUnitFloat, type StyledWebGpuBuffer } from './styled-frame.js';

/** Bytes per row of a buffer -> texture copy must be a multiple of this. */
const ROW_ALIGNMENT = 256;
/** rgba32float: 16 bytes a texel. */
const TEXEL_BYTES = 16;

/** tfjs's WebGPU device while the current backend is 'webgpu', else null. */
export function tfjsWebGpuDevice(): GPUDevice | null {
  if (tf.getBackend() !== 'webgpu') return null;
  return (tf.backend() as unknown as { device?: GPUDevice }).device ?? null;
}

export class SharedWebGpuDevice {
  constructor(readonly device: GPUDevice) {}

  /** True while tfjs runs on this device. */
  get active(): boolean {
    return tfjsWebGpuDevice() === this.device;
  }

  /** Runs `network`; its output stays on the device, as a buffer with rows padded for a copy to a texture. */
  frame(network: () => tf.Tensor3D): StyledWebGpuBuffer {
    const rgb = tf.tidy(network);
    const [height, width] = rgb.shape;
    const rowLength = Math.ceil((width * TEXEL_BYTES) / ROW_ALIGNMENT) * (ROW_ALIGNMENT / TEXEL_BYTES);
    const rgba = rgbaUnitFloat(rgb, rowLength);
    const data = rgba.dataToGPU();
    rgba.dispose();
    if (!data.buffer) {
      data.tensorRef.dispose();
      throw new Error('tfjs gave no GPU buffer for the frame.');
    }
    return { kind: 'webgpu-buffer', buffer: data.buffer, bytesPerRow: rowLength * TEXEL_BYTES, width, height, release: () => data.tensorRef.dispose() };
  }
}
