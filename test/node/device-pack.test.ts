// The GPU machine pack's stand-in for sharp (device-pack/sharp-lite.ts): the chains of calls the
// trainer makes (photo crop, style image resize, preview PNG) must give what sharp gives, to
// within JPEG decoders' and resamplers' rounding, and anything else must fail loudly.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import sharpLite from '../../device-pack/sharp-lite.js';
import { temporaryDirectory } from '../support/trainer-fixtures.js';

/** A smooth picture with some edges, so decoders and resamplers are compared on real detail. */
function picture(width: number, height: number): Buffer {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = (x * 255) / (width - 1);
      data[i + 1] = (y * 255) / (height - 1);
      data[i + 2] = (Math.floor(x / 8) + Math.floor(y / 8)) % 2 ? 200 : 40;
    }
  }
  return data;
}

function meanAbsoluteDifference(a: Uint8Array, b: Uint8Array): number {
  assert.equal(a.length, b.length);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
}

describe('device pack: sharp-lite', () => {
  it('decodes a 4:4:4 JPEG (as the pack writes them) and scales it to cover a square as sharp does (the photo crop of dataset.ts)', async () => {
    const path = join(await temporaryDirectory('sharp-lite'), 'photo.jpg');
    await sharp(picture(120, 72), { raw: { width: 120, height: 72, channels: 3 } }).jpeg({ quality: 90, chromaSubsampling: '4:4:4' }).toFile(path);
    const chain = (s: typeof sharp | typeof sharpLite) =>
      s(path, { failOn: 'error' }).rotate().removeAlpha().toColourspace('srgb').resize(40, 40, { fit: 'outside', kernel: 'lanczos3' }).raw().toBuffer({ resolveWithObject: true });
    const [ours, theirs] = await Promise.all([chain(sharpLite), chain(sharp)]);
    assert.deepEqual([ours.info.width, ours.info.height, ours.info.channels], [theirs.info.width, theirs.info.height, theirs.info.channels]);
    assert.deepEqual([ours.info.width, ours.info.height], [67, 40]);
    assert.ok(meanAbsoluteDifference(ours.data, theirs.data) < 2, `mean difference ${meanAbsoluteDifference(ours.data, theirs.data)}`);
  });

  it('resizes raw RGB (the style image) and writes PNGs that sharp reads back exactly (the previews)', async () => {
    const raw = { raw: { width: 90, height: 60, channels: 3 as const } };
    const [ours, theirs] = await Promise.all([
      sharpLite(picture(90, 60), raw).resize(30, 20, { kernel: 'lanczos3' }).raw().toBuffer(),
      sharp(picture(90, 60), raw).resize(30, 20, { kernel: 'lanczos3' }).raw().toBuffer(),
    ]);
    assert.ok(meanAbsoluteDifference(ours, theirs) < 3, `mean difference ${meanAbsoluteDifference(ours, theirs)}`);
    const png = await sharpLite(ours, { raw: { width: 30, height: 20, channels: 3 } }).png().toBuffer();
    const decoded = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([decoded.info.width, decoded.info.height, decoded.info.channels], [30, 20, 3]);
    assert.deepEqual(new Uint8Array(decoded.data), new Uint8Array(ours));
  });

  it('refuses what it does not implement, naming where to add it', async () => {
    const path = join(await temporaryDirectory('sharp-lite'), 'photo.png');
    await sharp(picture(8, 8), { raw: { width: 8, height: 8, channels: 3 } }).png().toFile(path);
    await assert.rejects(sharpLite(path).raw().toBuffer(), /only JPEG is not supported by the device bundle \(device-pack\/sharp-lite\.ts\)/);
    assert.throws(() => sharpLite(path).rotate(90), /rotate\(angle\) is not supported/);
    assert.throws(() => sharpLite(path).webp(), /webp\(\) is not supported/);
  });
});
