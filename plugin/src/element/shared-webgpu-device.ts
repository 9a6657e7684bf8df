/**
 * Zero-copy from tfjs to three.js on WebGPU: three's renderer is made on tfjs's GPUDevice
 * and each network output goes GPU buffer -> rgba32float texture with one
 * `copyBufferToTexture`, never through the CPU.
 */
// The published .d.ts names WebGPU types (GPUDevice, GPUTexture): a consumer's tsc gets them from here.
/// <reference types="@webgpu/types" preserve="true" />
import * as tf from '@tensorflow/tfjs-core';

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
  private _texture: GPUTexture | null = null;

  constructor(readonly device: GPUDevice) {}

  /** True while tfjs runs on this device. */
  get active(): boolean {
    return tfjsWebGpuDevice() === this.device;
  }

  /**
   * The network output `rgb` ([h, w, 3], 0..255) as an rgba32float texture (0..1, first row at
   * the top) on the shared device. Disposes `rgb`. The texture is reused for the next frame of the
   * same size: draw it before asking for the next.
   */
  toTexture(rgb: tf.Tensor3D): { texture: GPUTexture; width: number; height: number; release: () => void } {
    const [height, width] = rgb.shape;
    // Rows of the buffer are padded so that bytesPerRow is a multiple of 256.
    const paddedWidth = Math.ceil((width * TEXEL_BYTES) / ROW_ALIGNMENT) * (ROW_ALIGNMENT / TEXEL_BYTES);
    const rgba = tf.tidy(() => {
      const colour = tf.clipByValue(tf.div(rgb, 255), 0, 1);
      const withAlpha = tf.concat([colour, tf.ones([height, width, 1])], 2);
      return paddedWidth === width ? withAlpha : tf.pad(withAlpha, [[0, 0], [0, paddedWidth - width], [0, 0]]);
    });
    rgb.dispose();
    const data = rgba.dataToGPU();
    rgba.dispose();
    try {
      if (!data.buffer) throw new Error('tfjs gave no GPU buffer for the frame.');
      if (!this._texture || this._texture.width !== width || this._texture.height !== height) {
        this._texture?.destroy();
        this._texture = this.device.createTexture({
          label: 'nst-video styled frame',
          size: [width, height],
          format: 'rgba32float',
          usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_DST,
        });
      }
      const encoder = this.device.createCommandEncoder({ label: 'nst-video styled frame copy' });
      encoder.copyBufferToTexture({ buffer: data.buffer, bytesPerRow: paddedWidth * TEXEL_BYTES, rowsPerImage: height }, { texture: this._texture }, [width, height]);
      this.device.queue.submit([encoder.finish()]);
    } finally {
      data.tensorRef.dispose();
    }
    return { texture: this._texture, width, height, release: () => {} };
  }

  remove(): void {
    this._texture?.destroy();
    this._texture = null;
  }
}
