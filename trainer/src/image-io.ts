/** Image files in and out of Node, through sharp (libvips: fast, and reads JPEG/PNG/WebP/AVIF). */
import sharp from 'sharp';
import { extname } from 'node:path';
import type { RgbaPixels } from 'nst-video/model';
import { UsageError } from './exit-codes.js';
import { writeFileAtomically } from './model-files.js';

export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

export interface ReadImageOptions {
  /** Scale to this many pixels high, keeping the aspect ratio (Lanczos); default: the file's own size. */
  height?: number;
}

/** Decodes an image file to 8-bit RGB, honouring EXIF orientation. */
export async function readRgbImage(path: string, options: ReadImageOptions = {}): Promise<RgbImage> {
  try {
    let image = sharp(path).rotate();
    if (options.height !== undefined) image = image.resize({ height: options.height, kernel: 'lanczos3' });
    const { data, info } = await image.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
  } catch (error) {
    throw new Error(`Cannot read image "${path}": ${(error as Error).message}. Use a JPEG, PNG or WebP file.`, { cause: error });
  }
}

export const OUTPUT_IMAGE_TYPES = ['.png', '.jpg', '.jpeg', '.webp'] as const;
type OutputImageType = (typeof OUTPUT_IMAGE_TYPES)[number];

/** The encoding `path`'s extension asks for; a UsageError naming `flag` when there is none. */
export function outputImageType(path: string, flag = '--output'): OutputImageType {
  const type = extname(path).toLowerCase();
  if (!(OUTPUT_IMAGE_TYPES as readonly string[]).includes(type)) {
    throw new UsageError(`${flag} "${path}": the file name must end in ${OUTPUT_IMAGE_TYPES.join(', ')} (the encoding is chosen by it).`);
  }
  return type as OutputImageType;
}

export interface WriteImageOptions {
  /** JPEG and WebP quality, 1 to 100 (default 92; PNG is lossless). */
  quality?: number;
}

/** Encodes RGBA pixels by the file's extension (.png, .jpg/.jpeg, .webp), atomically. */
export async function writeImage(path: string, pixels: RgbaPixels, { quality = 92 }: WriteImageOptions = {}): Promise<void> {
  const type = outputImageType(path);
  const image = sharp(Buffer.from(pixels.data.buffer, pixels.data.byteOffset, pixels.data.length), {
    raw: { width: pixels.width, height: pixels.height, channels: 4 },
  }).removeAlpha();
  const encoded = type === '.png' ? image.png() : type === '.webp' ? image.webp({ quality }) : image.jpeg({ quality });
  await writeFileAtomically(path, await encoded.toBuffer());
}
