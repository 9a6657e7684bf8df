/**
 * A loaded style model: the network's weights as tensors on the current tfjs backend, and the
 * metadata it was saved with. Environment-agnostic (browser and Node); `loadStyleModel` in the
 * plugin and `nst stylize` in the trainer wrap it with their own image IO.
 */
import * as tf from '@tensorflow/tfjs-core';
import { MIN_INPUT_SIZE, SPATIAL_MULTIPLE, type TransformerArchitecture, transformerWeightSpecs } from './architecture.js';
import { transformerForward } from './transformer-net.js';
import type { DecodedStyleModel, StyleModelMetadata } from './weights-format.js';

export interface StylizeOptions {
  /**
   * Short side, in pixels, of the picture the network sees (and of the result). Smaller is
   * faster; brush strokes look larger. Default: the input's own size.
   */
  size?: number;
}

/** RGBA pixels, as in ImageData; in a browser `stylize` returns a real ImageData. */
export interface RgbaPixels {
  readonly data: Uint8ClampedArray;
  readonly width: number;
  readonly height: number;
}

export class StyleModel {
  readonly metadata: StyleModelMetadata;
  readonly architecture: TransformerArchitecture;
  private readonly _weights: Map<string, tf.Tensor>;
  private _disposed = false;

  constructor(decoded: DecodedStyleModel) {
    this.metadata = decoded.metadata;
    this.architecture = decoded.architecture;
    this._weights = new Map();
    // Shapes come from the architecture: the reader has already checked the file against it.
    for (const spec of transformerWeightSpecs(this.architecture)) {
      const values = decoded.weights.get(spec.name);
      if (!values) throw new Error(`StyleModel: weight "${spec.name}" is missing.`);
      this._weights.set(spec.name, tf.tensor(values, [...spec.shape], 'float32'));
    }
  }

  /** The style's name, from the model's metadata. */
  get styleName(): string {
    return this.metadata.style.name;
  }

  /**
   * Runs the network on a batch [N, H, W, 3] of 0..255 values, H and W multiples of 4. Returns
   * 0..255 float32 of the same shape; the caller owns (and disposes) it.
   */
  predict(images: tf.Tensor4D): tf.Tensor4D {
    this._assertUsable();
    return transformerForward(this._weights, this.architecture, images);
  }

  /**
   * Stylises one image [H, W, 3|4] (any numeric dtype, 0..255). The result is [h, w, 3] float32
   * in 0..255 where the short side is `options.size` (or the input's). Any size works: the input
   * is reflect-padded to a multiple of 4 for the network and the output cropped back.
   */
  stylizeTensor(image: tf.Tensor3D, options: StylizeOptions = {}): tf.Tensor3D {
    this._assertUsable();
    const [height, width, channels] = image.shape;
    if (channels !== 3 && channels !== 4) throw new TypeError(`stylize: expected 3 or 4 channels, got ${channels}.`);
    const target = outputSize(width, height, options.size);
    return tf.tidy(() => {
      let x: tf.Tensor3D = channels === 4 ? tf.slice(image, [0, 0, 0], [height, width, 3]) : image;
      x = tf.cast(x, 'float32');
      if (target.width !== width || target.height !== height) {
        x = tf.image.resizeBilinear(x, [target.height, target.width], true);
      }
      const padBottom = roundUp(target.height, SPATIAL_MULTIPLE) - target.height;
      const padRight = roundUp(target.width, SPATIAL_MULTIPLE) - target.width;
      let batch = tf.expandDims(x, 0) as tf.Tensor4D;
      if (padBottom || padRight) batch = tf.mirrorPad(batch, [[0, 0], [0, padBottom], [0, padRight], [0, 0]], 'reflect');
      const out = this.predict(batch);
      return padBottom || padRight ? cropImage(out, target) : (tf.squeeze(out, [0]) as tf.Tensor3D);
    });
  }

  /** Stylises RGB(A) pixels and returns RGBA pixels (alpha 255). */
  async stylizePixels(pixels: { data: ArrayLike<number>; width: number; height: number }, options: StylizeOptions = {}): Promise<RgbaPixels> {
    const channels = pixels.data.length / (pixels.width * pixels.height);
    if (channels !== 3 && channels !== 4) {
      throw new TypeError(`stylize: ${pixels.width}x${pixels.height} pixels need 3 or 4 values each, got ${pixels.data.length} values.`);
    }
    const input = tf.tensor3d(Int32Array.from(pixels.data), [pixels.height, pixels.width, channels], 'int32');
    try {
      return await this.toRgbaPixels(this.stylizeTensor(input, options));
    } finally {
      input.dispose();
    }
  }

  /** Reads a [h, w, 3] 0..255 tensor back as RGBA pixels and disposes it. */
  async toRgbaPixels(rgb: tf.Tensor3D): Promise<RgbaPixels> {
    const [height, width] = rgb.shape;
    let values: tf.TypedArray;
    try {
      values = (await rgb.data()) as tf.TypedArray;
    } finally {
      rgb.dispose();
    }
    // One pass here rather than round, clip, concat and cast on the backend (four full-size
    // tensors a frame): storing into a Uint8ClampedArray rounds half to even, as tf.round does,
    // and clamps to 0..255. Float RGB is also less to read back from a GPU than int32 RGBA was.
    const data = new Uint8ClampedArray(width * height * 4);
    for (let i = 0, j = 0; j < data.length; i += 3, j += 4) {
      data[j] = values[i];
      data[j + 1] = values[i + 1];
      data[j + 2] = values[i + 2];
      data[j + 3] = 255;
    }
    return { data, width, height };
  }

  /** Frees the weights. The model cannot be used afterwards. */
  dispose(): void {
    if (this._disposed) return;
    this._disposed = true;
    for (const tensor of this._weights.values()) tensor.dispose();
    this._weights.clear();
  }

  get disposed(): boolean {
    return this._disposed;
  }

  private _assertUsable(): void {
    if (this._disposed) throw new Error(`Style model "${this.styleName}" was disposed; load it again to use it.`);
  }
}

/** Output size for a short side of `size` px, keeping the aspect ratio. */
export function outputSize(width: number, height: number, size?: number): { width: number; height: number } {
  if (size === undefined) {
    if (Math.min(width, height) < MIN_INPUT_SIZE) {
      throw new RangeError(`stylize: the image is ${width}x${height}; the network needs at least ${MIN_INPUT_SIZE} px on the short side.`);
    }
    return { width, height };
  }
  if (!Number.isFinite(size) || size < MIN_INPUT_SIZE) {
    throw new RangeError(`stylize: size must be a number of pixels >= ${MIN_INPUT_SIZE}, got ${size}.`);
  }
  const scale = size / Math.min(width, height);
  return width <= height
    ? { width: Math.round(size), height: Math.max(Math.round(size), Math.round(height * scale)) }
    : { width: Math.max(Math.round(size), Math.round(width * scale)), height: Math.round(size) };
}

/**
 * About how many bytes of tensors stylising a `width` x `height` picture holds at its peak: 13.5
 * float32 values per pixel for each channel of the first layer (tf.profile's peakBytes on the cpu
 * backend: 860 B/px for slim, 1700 for full, the same at 64 and 128 px). Lets a caller refuse a
 * size that cannot fit (wasm has 4 GiB) before allocating anything.
 */
export function stylizePeakBytes(architecture: TransformerArchitecture, width: number, height: number): number {
  const pixels = roundUp(width, SPATIAL_MULTIPLE) * roundUp(height, SPATIAL_MULTIPLE);
  return 13.5 * architecture.channels[0] * Float32Array.BYTES_PER_ELEMENT * pixels;
}

function roundUp(value: number, multiple: number): number {
  return Math.ceil(value / multiple) * multiple;
}

/**
 * The top-left `size` of the one image of `batch` [1, H, W, C], as [h, w, C]. It is cropped as
 * rows of an [H, W * C] view, the same values as a 4-D tf.slice: wasm copies a 4-D slice C values
 * at a time (4 ms of a 455x256 frame, a 30th of the network there), a 2-D one a row at a time.
 */
function cropImage(batch: tf.Tensor4D, size: { width: number; height: number }): tf.Tensor3D {
  const [, height, width, channels] = batch.shape;
  const rows = tf.slice(tf.reshape(batch, [height, width * channels]), [0, 0], [size.height, size.width * channels]);
  return tf.reshape(rows, [size.height, size.width, channels]);
}
