/** Test helpers for the trainer: a tiny VGG19-shaped loss network, photo folders, paths to ../shared. */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { seededRandom } from 'nst-video/model';
import { VGG19_BLOCKS, VGG19_LAYERS } from '../../trainer/src/training/vgg.js';

export const SHARED_DATA = '../shared/data';
export const SHARED_VGG = join(SHARED_DATA, 'vgg19');
export const SHARED_STYLE = join(SHARED_DATA, 'styles', 'starry_night.jpg');
export const SHARED_PHOTOS = join(SHARED_DATA, 'content', 'photos');

/** Why a test that needs ../shared/data skips, or undefined when it is there. */
export function sharedDataMissing(): string | undefined {
  for (const path of [join(SHARED_VGG, 'model.json'), SHARED_STYLE, SHARED_PHOTOS]) {
    if (!existsSync(path)) return `needs ${path} (the project's shared data), which is absent`;
  }
  return undefined;
}

export async function temporaryDirectory(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `nst-${prefix}-`));
}

/**
 * Writes a VGG19-shaped network with few channels per block (random float32 weights, He-scaled)
 * as a tfjs layers model.json + one shard, and returns its directory.
 */
export async function writeTinyVgg(directory: string, channels: readonly number[] = [4, 6, 8, 8, 8], seed = 3): Promise<string> {
  const random = seededRandom(seed);
  const weights: { name: string; shape: number[]; dtype: 'float32' }[] = [];
  const values: number[] = [];
  let cin = 3;
  let layer = 0;
  VGG19_BLOCKS.forEach((convs, block) => {
    for (let n = 0; n < convs; n++) {
      const name = VGG19_LAYERS[layer++];
      const cout = channels[block];
      const bound = Math.sqrt(6 / (9 * cin));
      weights.push({ name: `${name}/kernel`, shape: [3, 3, cin, cout], dtype: 'float32' });
      for (let i = 0; i < 9 * cin * cout; i++) values.push((random() * 2 - 1) * bound * (layer === 1 ? 1 / 60 : 1));
      weights.push({ name: `${name}/bias`, shape: [cout], dtype: 'float32' });
      for (let i = 0; i < cout; i++) values.push((random() - 0.5) * 0.1);
      cin = cout;
    }
  });
  await mkdir(directory, { recursive: true });
  await writeFile(join(directory, 'weights.bin'), new Uint8Array(Float32Array.from(values).buffer));
  await writeFile(join(directory, 'model.json'), JSON.stringify({ format: 'layers-model', weightsManifest: [{ paths: ['weights.bin'], weights }] }));
  return directory;
}

/** Writes `count` random-ish photos (smooth gradients plus noise) of various sizes and formats. */
export async function writePhotos(directory: string, count: number, seed = 1): Promise<string[]> {
  const random = seededRandom(seed);
  await mkdir(directory, { recursive: true });
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const width = 40 + Math.floor(random() * 40);
    const height = 40 + Math.floor(random() * 40);
    const data = Buffer.alloc(width * height * 3);
    const [a, b, c] = [random(), random(), random()];
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const o = (y * width + x) * 3;
        data[o] = (255 * a * x) / width + random() * 30;
        data[o + 1] = (255 * b * y) / height + random() * 30;
        data[o + 2] = 255 * c * ((x + y) % 16 < 8 ? 1 : 0.3);
      }
    }
    const ext = ['png', 'jpg', 'webp'][i % 3];
    const name = `photo-${i}.${ext}`;
    await sharp(data, { raw: { width, height, channels: 3 } }).toFormat(ext === 'jpg' ? 'jpeg' : (ext as 'png' | 'webp')).toFile(join(directory, name));
    names.push(name);
  }
  return names;
}
