// The README gallery's maker (trainer/scripts/make-gallery.ts, npm run gallery) on a tiny untrained
// model of its own: one strip per model folder, its panels where it says, the stylised panel not a
// copy of the photo, and a painting the model names but --paintings lacks refused before any work.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { ARCHITECTURE_PRESETS, encodeRandomStyleModel } from 'nst-video/model';
import { makeGallery, type GalleryOptions } from '../../trainer/scripts/make-gallery.js';
import { readRgbImage, type RgbImage } from '../../trainer/src/image-io.js';
import { writeStyleModel } from '../../trainer/src/model-files.js';
import { temporaryDirectory } from '../support/trainer-fixtures.js';

describe('npm run gallery (make-gallery.ts)', () => {
  let dir: string;
  let options: GalleryOptions;
  before(async () => {
    dir = await temporaryDirectory('gallery');
    const encoded = await encodeRandomStyleModel({
      architecture: ARCHITECTURE_PRESETS.slim,
      seed: 1,
      style: { name: 'tiny', image: 'painting.png' },
      generatedBy: 'make-gallery.test',
    });
    await writeStyleModel(join(dir, 'models', 'tiny'), encoded);
    await mkdir(join(dir, 'paintings'));
    await writePicture(join(dir, 'paintings', 'painting.png'), 300, 200);
    await writePicture(join(dir, 'photo.jpg'), 160, 120);
    options = {
      models: join(dir, 'models'),
      paintings: join(dir, 'paintings'),
      photo: join(dir, 'photo.jpg'),
      out: join(dir, 'gallery'),
      height: 64,
      quality: 90,
      backend: 'wasm',
      threads: 1,
    };
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('writes <style folder>.jpg: painting, photo and stylised photo side by side at --height', async () => {
    const [strip, ...others] = await makeGallery(options);
    assert.equal(others.length, 0);
    assert.equal(strip.path, join(dir, 'gallery', 'tiny.jpg'));
    // 300x200 -> 96x64 and 160x120 -> 85x64, 4 px apart.
    assert.deepEqual(strip.panelLefts, [0, 100, 189]);
    const written = await readRgbImage(strip.path);
    assert.deepEqual([written.width, written.height], [274, 64]);
    assert.deepEqual([strip.width, strip.height], [274, 64]);

    const photo = await readRgbImage(options.photo, { height: 64 });
    const photoPanel = crop(written, 100, 85);
    const stylisedPanel = crop(written, 189, 85);
    assert.ok(meanDifference(photoPanel, photo) < 6, `the photo panel is the photo (mean difference ${meanDifference(photoPanel, photo).toFixed(1)} levels)`);
    assert.ok(meanDifference(stylisedPanel, photo) > 20, `the stylised panel is not the photo (mean difference ${meanDifference(stylisedPanel, photo).toFixed(1)} levels)`);
  });

  it('refuses a painting --paintings lacks, naming the flag, and writes nothing', async () => {
    const out = join(dir, 'not-written');
    await assert.rejects(makeGallery({ ...options, paintings: dir, out }), /--paintings ".*" has no painting\.png, the painting .*tiny was trained on; pass --paintings </);
    assert.equal(existsSync(out), false);
  });
});

/** A picture with edges and gradients, so that a misplaced panel shows. */
async function writePicture(path: string, width: number, height: number): Promise<void> {
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) pixels.set([(x * 3) % 256, (y * 2) % 256, x < width / 2 ? 40 : 220], (y * width + x) * 3);
  await sharp(pixels, { raw: { width, height, channels: 3 } }).toFile(path);
}

function crop(image: RgbImage, left: number, width: number): RgbImage {
  const data = new Uint8Array(width * image.height * 3);
  for (let y = 0; y < image.height; y++) data.set(image.data.subarray((y * image.width + left) * 3, (y * image.width + left + width) * 3), y * width * 3);
  return { data, width, height: image.height };
}

function meanDifference(a: RgbImage, b: RgbImage): number {
  assert.deepEqual([a.width, a.height], [b.width, b.height]);
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) sum += Math.abs(a.data[i] - b.data[i]);
  return sum / a.data.length;
}
