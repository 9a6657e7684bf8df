/** Image files in and out of Node, through sharp (libvips: fast, and reads JPEG/PNG/WebP/AVIF). */
import sharp from 'sharp';
import { extname } from 'node:path';
import type { RgbaPixels } from 'nst-video/model';

export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Decodes an image file to 8-bit RGB, honouring EXIF orientation. */
export async function readRgbImage(path: string): Promise<RgbImage> {
  try {
    const { data, info } = await sharp(path).rotate().removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
  } catch (error) {
    throw new Error(`Cannot read image "${path}": ${(error as Error).message}. Use a JPEG, PNG or WebP file.`, { cause: error });
  }
}

export const OUTPUT_IMAGE_TYPES = ['.png', '.jpg', '.jpeg', '.webp'] as const;

/** Encodes RGBA pixels by the file's extension (.png, .jpg/.jpeg, .webp). */
export async function writeImage(path: string, pixels: RgbaPixels): Promise<void> {
  const type = extname(path).toLowerCase();
  if (!(OUTPUT_IMAGE_TYPES as readonly string[]).includes(type)) {
    throw new Error(`Cannot write "${path}": the output must end in ${OUTPUT_IMAGE_TYPES.join(', ')}.`);
  }
  const image = sharp(Buffer.from(pixels.data.buffer, pixels.data.byteOffset, pixels.data.length), {
    raw: { width: pixels.width, height: pixels.height, channels: 4 },
  }).removeAlpha();
  const encoded = type === '.png' ? image.png() : type === '.webp' ? image.webp({ quality: 92 }) : image.jpeg({ quality: 92 });
  await encoded.toFile(path);
}
