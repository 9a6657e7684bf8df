/**
 * The few calls of sharp that `nst train` makes, in plain JavaScript, for the GPU machine's pack.
 *
 * sharp needs libvips (18 MB), more than the pack can carry beside Node, dawn.node and VGG19, so
 * the pack's bundle is built with `sharp` aliased to this module (build-pack.mjs). The trainer's
 * own code (cropping, the style image, previews) runs unchanged. It reads JPEG (jpeg-js) and
 * writes PNG. The pack's photos and style images are JPEGs that build-pack.mjs wrote upright
 * (no EXIF orientation, so `rotate()` has nothing to do) and without chroma subsampling: jpeg-js
 * upsamples chroma more crudely than libjpeg-turbo (7 levels apart on average on sharp colour
 * edges), while 4:4:4 files decode to within a level or two of sharp. Anything else throws and
 * names what to add here: this must never quietly differ from sharp.
 */
import jpeg from 'jpeg-js';
import { readFile } from 'node:fs/promises';
import { deflateSync, crc32 } from 'node:zlib';

interface RawInput {
  width: number;
  height: number;
  channels: number;
}

interface Pixels extends RawInput {
  data: Uint8Array;
}

interface ResizeOptions {
  fit?: 'cover' | 'outside' | 'fill';
  kernel?: 'lanczos3';
}

export interface OutputInfo {
  format: 'raw' | 'png';
  width: number;
  height: number;
  channels: number;
  size: number;
}

const UNSUPPORTED = 'is not supported by the device bundle (device-pack/sharp-lite.ts); add it there';

class SharpLite {
  private readonly _input: string | Uint8Array;
  private readonly _raw?: RawInput;
  private _removeAlpha = false;
  private _resize?: { width: number; height: number; fit: NonNullable<ResizeOptions['fit']> };
  private _format: 'raw' | 'png' = 'raw';

  constructor(input: string | Uint8Array, options: { raw?: RawInput; failOn?: string } = {}) {
    this._input = input;
    this._raw = options.raw;
  }

  rotate(...args: unknown[]): this {
    if (args.length > 0) throw new Error(`sharp().rotate(angle) ${UNSUPPORTED}.`);
    return this;
  }

  removeAlpha(): this {
    this._removeAlpha = true;
    return this;
  }

  toColourspace(space: string): this {
    if (space !== 'srgb') throw new Error(`sharp().toColourspace("${space}") ${UNSUPPORTED}.`);
    return this;
  }

  resize(width: number, height: number, options: ResizeOptions = {}): this {
    if (options.kernel !== undefined && options.kernel !== 'lanczos3') throw new Error(`sharp().resize kernel "${options.kernel}" ${UNSUPPORTED}.`);
    this._resize = { width, height, fit: options.fit ?? 'cover' };
    return this;
  }

  raw(): this {
    this._format = 'raw';
    return this;
  }

  png(): this {
    this._format = 'png';
    return this;
  }

  jpeg(): this {
    throw new Error(`sharp().jpeg() ${UNSUPPORTED}.`);
  }

  webp(): this {
    throw new Error(`sharp().webp() ${UNSUPPORTED}.`);
  }

  toBuffer(): Promise<Buffer>;
  toBuffer(options: { resolveWithObject: true }): Promise<{ data: Buffer; info: OutputInfo }>;
  async toBuffer(options?: { resolveWithObject: true }): Promise<Buffer | { data: Buffer; info: OutputInfo }> {
    let pixels = await this._decode();
    if (this._removeAlpha && pixels.channels === 4) pixels = dropAlpha(pixels);
    if (this._resize) pixels = resizeTo(pixels, this._resize.width, this._resize.height, this._resize.fit);
    const data = this._format === 'png' ? encodePng(pixels) : Buffer.from(pixels.data.buffer, pixels.data.byteOffset, pixels.data.length);
    const info: OutputInfo = { format: this._format, width: pixels.width, height: pixels.height, channels: pixels.channels, size: data.length };
    return options?.resolveWithObject ? { data, info } : data;
  }

  private async _decode(): Promise<Pixels> {
    if (this._raw) {
      const { width, height, channels } = this._raw;
      const data = this._input as Uint8Array;
      if (data.length !== width * height * channels) throw new Error(`sharp-lite: raw input has ${data.length} bytes, expected ${width}x${height}x${channels}.`);
      return { data, width, height, channels };
    }
    const bytes = typeof this._input === 'string' ? await readFile(this._input) : this._input;
    if (bytes[0] !== 0xff || bytes[1] !== 0xd8) {
      throw new Error(`reading ${typeof this._input === 'string' ? `"${this._input}"` : 'this image'}: only JPEG ${UNSUPPORTED} (the pack converts its images to JPEG).`);
    }
    const { data, width, height } = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false });
    return { data, width, height, channels: 3 };
  }
}

/** `sharp(input, options)`: the subset above. */
export default function sharp(input: string | Uint8Array, options?: { raw?: RawInput; failOn?: string }): SharpLite {
  return new SharpLite(input, options);
}

function dropAlpha(image: Pixels): Pixels {
  const out = new Uint8Array(image.width * image.height * 3);
  for (let i = 0, j = 0; j < out.length; i += 4, j += 3) {
    out[j] = image.data[i];
    out[j + 1] = image.data[i + 1];
    out[j + 2] = image.data[i + 2];
  }
  return { ...image, data: out, channels: 3 };
}

/**
 * sharp's fits for a target box: `outside` keeps the aspect ratio and covers the box (one side
 * equals it), `cover` does the same and then cuts the centre out, `fill` stretches.
 */
function resizeTo(image: Pixels, width: number, height: number, fit: NonNullable<ResizeOptions['fit']>): Pixels {
  if (fit === 'fill') return resampleLanczos3(image, width, height);
  const byWidth = width / image.width >= height / image.height;
  const scale = byWidth ? width / image.width : height / image.height;
  const outWidth = byWidth ? width : Math.max(width, Math.round(image.width * scale));
  const outHeight = byWidth ? Math.max(height, Math.round(image.height * scale)) : height;
  const resized = resampleLanczos3(image, outWidth, outHeight);
  if (fit === 'outside' || (outWidth === width && outHeight === height)) return resized;
  const left = (outWidth - width) >> 1;
  const top = (outHeight - height) >> 1;
  const c = image.channels;
  const out = new Uint8Array(width * height * c);
  for (let y = 0; y < height; y++) out.set(resized.data.subarray(((top + y) * outWidth + left) * c, ((top + y) * outWidth + left + width) * c), y * width * c);
  return { data: out, width, height, channels: c };
}

/** Separable Lanczos-3 resampling; the kernel widens by the reduction factor when shrinking, as libvips does. */
function resampleLanczos3(image: Pixels, width: number, height: number): Pixels {
  const c = image.channels;
  const horizontal = filterTaps(image.width, width);
  const vertical = filterTaps(image.height, height);
  const rows = new Float32Array(image.height * width * c);
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < width; x++) {
      const { start, weights } = horizontal[x];
      for (let k = 0; k < c; k++) {
        let sum = 0;
        for (let t = 0; t < weights.length; t++) sum += weights[t] * image.data[(y * image.width + start + t) * c + k];
        rows[(y * width + x) * c + k] = sum;
      }
    }
  }
  const out = new Uint8Array(width * height * c);
  for (let y = 0; y < height; y++) {
    const { start, weights } = vertical[y];
    for (let x = 0; x < width; x++) {
      for (let k = 0; k < c; k++) {
        let sum = 0;
        for (let t = 0; t < weights.length; t++) sum += weights[t] * rows[((start + t) * width + x) * c + k];
        out[(y * width + x) * c + k] = Math.min(255, Math.max(0, Math.round(sum)));
      }
    }
  }
  return { data: out, width, height, channels: c };
}

function filterTaps(inSize: number, outSize: number): { start: number; weights: Float32Array }[] {
  const scale = outSize / inSize;
  const stretch = Math.max(1, 1 / scale);
  const support = 3 * stretch;
  return Array.from({ length: outSize }, (_, i) => {
    const centre = (i + 0.5) / scale - 0.5;
    const start = Math.max(0, Math.ceil(centre - support));
    const end = Math.min(inSize - 1, Math.floor(centre + support));
    const weights = new Float32Array(end - start + 1);
    let total = 0;
    for (let j = start; j <= end; j++) total += weights[j - start] = lanczos3((j - centre) / stretch);
    for (let j = 0; j < weights.length; j++) weights[j] /= total;
    return { start, weights };
  });
}

function lanczos3(x: number): number {
  if (x === 0) return 1;
  if (Math.abs(x) >= 3) return 0;
  const px = Math.PI * x;
  return (3 * Math.sin(px) * Math.sin(px / 3)) / (px * px);
}

/** 8-bit RGB or RGBA PNG, unfiltered rows. */
function encodePng({ data, width, height, channels }: Pixels): Buffer {
  if (channels !== 3 && channels !== 4) throw new Error(`sharp-lite: PNG of ${channels} channels ${UNSUPPORTED}.`);
  const stride = width * channels;
  const scanlines = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) scanlines.set(data.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, channels === 4 ? 6 : 2, 0, 0, 0], 8);
  const chunk = (type: string, body: Buffer) => {
    const typed = Buffer.concat([Buffer.from(type, 'latin1'), body]);
    const out = Buffer.alloc(typed.length + 8);
    out.writeUInt32BE(body.length, 0);
    typed.copy(out, 4);
    out.writeUInt32BE(crc32(typed), typed.length + 4);
    return out;
  };
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk('IHDR', header), chunk('IDAT', deflateSync(scanlines)), chunk('IEND', Buffer.alloc(0))]);
}
