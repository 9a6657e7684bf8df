// Data and file plumbing of the trainer: the photo folder (recursive, unreadable files skipped
// once, empty folder refused, reproducible crops), `nst import-vgg` on a Keras-layout .h5 written
// here with h5wasm, and the CLI's flags and defaults.
import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import h5wasm from 'h5wasm/node';
import sharp from 'sharp';
import { seededRandom } from 'nst-video/model';
import { buildProgram } from '../../trainer/src/cli.js';
import { parseCheckpointEvery } from '../../trainer/src/cli-options.js';
import { CENTRE_CROP, listImages, loadSquareCrop, TrainingData } from '../../trainer/src/training/dataset.js';
import { readKerasVgg19, writeVggModel } from '../../trainer/src/training/vgg-import.js';
import { readVggWeights, VGG19_BLOCKS, VGG19_LAYERS } from '../../trainer/src/training/vgg.js';
import { temporaryDirectory, writePhotos } from '../support/trainer-fixtures.js';

describe('training photos', () => {
  it('finds JPEG/PNG/WebP recursively, skips unreadable ones with one warning each, and counts them', async () => {
    const root = await temporaryDirectory('data');
    await writePhotos(root, 3);
    await writePhotos(join(root, 'nested', 'deeper'), 2, 9);
    await writeFile(join(root, 'broken.jpg'), 'not a jpeg');
    await writeFile(join(root, 'notes.txt'), 'ignored');
    await symlink(join(root, 'photo-1.jpg'), join(root, 'linked.jpg'));
    await symlink(join(root, 'missing.jpg'), join(root, 'dangling.jpg'));
    const files = await listImages(root);
    assert.equal(files.length, 7);
    assert.ok(files.includes('linked.jpg') && !files.includes('dangling.jpg'));
    assert.ok(files.includes(join('nested', 'deeper', 'photo-1.jpg')));
    const warnings: string[] = [];
    const data = new TrainingData(root, files, 24, 5, (m) => warnings.push(m));
    // Two epochs' worth of photos: the broken one comes up twice but warns once.
    for (let i = 0; i < 5; i++) {
      const batch = await data.nextBatch(2);
      assert.equal(batch.files.length, 2);
      assert.ok(!batch.files.includes('broken.jpg'));
      assert.ok(batch.pixels.every((v) => v >= 0 && v <= 255));
    }
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /skipping unreadable photo "broken.jpg"/);
    assert.equal(data.unreadableCount, 1);
    assert.ok(data.state.epoch >= 1, 'a second epoch was reshuffled');
  });

  it('an empty folder is an error that says what to put there', async () => {
    const root = await temporaryDirectory('empty');
    await mkdir(join(root, 'sub'));
    await assert.rejects(listImages(root), /No photos in .*JPEG, PNG or WebP/);
  });

  it('the same seed and data state give the same crops (what --resume relies on)', async () => {
    const root = await temporaryDirectory('repeat');
    await writePhotos(root, 4);
    const files = await listImages(root);
    const a = new TrainingData(root, files, 16, 3, () => {});
    await a.nextBatch(3);
    const saved = a.state;
    const next = await a.nextBatch(3);
    const b = new TrainingData(root, files, 16, 3, () => {}, saved);
    const again = await b.nextBatch(3);
    assert.deepEqual(again.files, next.files);
    assert.deepEqual(again.pixels, next.pixels);
    const other = new TrainingData(root, files, 16, 4, () => {});
    assert.notDeepEqual((await other.nextBatch(3)).pixels, (await new TrainingData(root, files, 16, 3, () => {}).nextBatch(3)).pixels);
  });

  it('--crop center cuts a photo the same way every time it comes (random crops differ)', async () => {
    const root = await temporaryDirectory('center');
    await writePhotos(root, 2);
    const files = await listImages(root);
    const cropsOfEachPhoto = async (crop: 'random' | 'center') => {
      const data = new TrainingData(root, files, 16, 3, () => {}, undefined, { mode: crop, maxZoom: 1 });
      const seen = new Map<string, Float32Array[]>();
      for (let i = 0; i < 6; i++) {
        const batch = await data.nextBatch(1);
        seen.set(batch.files[0], [...(seen.get(batch.files[0]) ?? []), batch.pixels]);
      }
      return [...seen.values()];
    };
    for (const crops of await cropsOfEachPhoto('center')) for (const pixels of crops) assert.deepEqual(pixels, crops[0]);
    assert.ok((await cropsOfEachPhoto('random')).some((crops) => crops.some((pixels) => !pixels.every((v, i) => v === crops[0][i]))));
  });

  it('--crop-zoom: a zoomed crop is cut from the photo scaled up, so it covers less of it; 1 draws the crops of no zoom', async () => {
    const root = await temporaryDirectory('zoom');
    // Red rises from 0 at the left edge to 255 at the right: a crop's red range is the share of the width it covers.
    const [width, height] = [96, 64];
    const ramp = Buffer.alloc(width * height * 3);
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) ramp[(y * width + x) * 3] = Math.round((255 * x) / (width - 1));
    await sharp(ramp, { raw: { width, height, channels: 3 } }).png().toFile(join(root, 'ramp.png'));
    const redRange = (pixels: Float32Array) => {
      const reds = pixels.filter((_, i) => i % 3 === 0);
      return Math.max(...reds) - Math.min(...reds);
    };
    const plain = await loadSquareCrop(join(root, 'ramp.png'), 32);
    const zoomed = await loadSquareCrop(join(root, 'ramp.png'), 32, { ...CENTRE_CROP, zoom: 2 });
    // The unzoomed square is 2/3 of the width (170 of red), the zoomed one 1/3 (85), both centred on 127.5.
    assert.ok(Math.abs(redRange(plain) - 170) < 12, `unzoomed red range ${redRange(plain)}`);
    assert.ok(Math.abs(redRange(zoomed) - 85) < 12, `zoomed red range ${redRange(zoomed)}`);
    const mean = (pixels: Float32Array) => pixels.filter((_, i) => i % 3 === 0).reduce((a, b) => a + b, 0) / (pixels.length / 3);
    assert.ok(Math.abs(mean(zoomed) - 127.5) < 4 && Math.abs(mean(plain) - 127.5) < 4);

    // Random crops with zoom: some of them narrower than any unzoomed crop; a maxZoom of 1 changes nothing.
    const files = await listImages(root);
    const crops = async (maxZoom: number) => {
      const data = new TrainingData(root, files, 32, 3, () => {}, undefined, { mode: 'random', maxZoom });
      return Promise.all(Array.from({ length: 8 }, async () => (await data.nextBatch(1)).pixels));
    };
    const [unzoomed, zoomedRandom] = [await crops(1), await crops(2)];
    assert.deepEqual(unzoomed, await Promise.all(Array.from({ length: 8 }, async (_, i) => (await crops(1))[i])));
    assert.ok(unzoomed.every((pixels) => redRange(pixels) > 158), unzoomed.map(redRange).join(', '));
    assert.ok(zoomedRandom.some((pixels) => redRange(pixels) < 140), zoomedRandom.map(redRange).join(', '));
    assert.ok(zoomedRandom.every((pixels) => redRange(pixels) > 73));
  });
});

describe('nst import-vgg', () => {
  it('converts a Keras-layout VGG19 .h5 (nested groups, weight_names attributes) into a model --vgg reads', async () => {
    const root = await temporaryDirectory('h5');
    const h5Path = join(root, 'vgg19_tiny_notop.h5');
    await h5wasm.ready;
    const random = seededRandom(8);
    const expected = new Map<string, { kernel: Float32Array; bias: Float32Array }>();
    const file = new h5wasm.File(h5Path, 'w');
    file.create_attribute('layer_names', ['input_1', ...VGG19_LAYERS]);
    file.create_group('input_1');
    let cin = 3;
    let layer = 0;
    VGG19_BLOCKS.forEach((convs, block) => {
      for (let n = 0; n < convs; n++) {
        const name = VGG19_LAYERS[layer++];
        const cout = 2 + block;
        const kernel = Float32Array.from({ length: 9 * cin * cout }, () => random() - 0.5);
        const bias = Float32Array.from({ length: cout }, () => random());
        expected.set(name, { kernel, bias });
        const group = file.create_group(name);
        group.create_attribute('weight_names', [`${name}/kernel:0`, `${name}/bias:0`]);
        const inner = group.create_group(name);
        inner.create_dataset({ name: 'kernel:0', data: kernel, shape: [3, 3, cin, cout], dtype: '<f' });
        inner.create_dataset({ name: 'bias:0', data: bias, shape: [cout], dtype: '<f' });
        cin = cout;
      }
    });
    file.close();

    const out = join(root, 'vgg19');
    const layers = await readKerasVgg19(h5Path);
    await writeVggModel(out, layers, 'vgg19_tiny_notop.h5');
    const loaded = await readVggWeights(out);
    for (const name of VGG19_LAYERS) {
      assert.deepEqual(loaded.get(name)!.kernel, expected.get(name)!.kernel, `${name} kernel`);
      assert.deepEqual(loaded.get(name)!.bias, expected.get(name)!.bias, `${name} bias`);
    }
  });

  it('says what is wrong with a file that is not VGG19', async () => {
    const root = await temporaryDirectory('h5bad');
    const path = join(root, 'other.h5');
    await h5wasm.ready;
    const file = new h5wasm.File(path, 'w');
    file.create_group('dense_1');
    file.close();
    await assert.rejects(readKerasVgg19(path), /no layer "block1_conv1"; is this the Keras VGG19/);
    await writeFile(join(root, 'text.h5'), 'hello');
    await assert.rejects(readKerasVgg19(join(root, 'text.h5')), /not a readable HDF5 file/);
  });
});

describe('nst train/eval command line', () => {
  it('--help of train shows every flag of the issue with its default', () => {
    const train = buildProgram().commands.find((c) => c.name() === 'train')!;
    const help = train.helpInformation({ error: false }).replace(/\s+/g, ' ');
    for (const flag of ['--style', '--content', '--out', '--vgg', '--arch', '--size', '--batch', '--steps', '--epochs', '--lr', '--content-weight', '--style-weight', '--tv-weight', '--content-layer', '--style-layers', '--style-size', '--backend', '--seed', '--checkpoint-every', '--resume', '--preview-every', '--preview-images']) {
      assert.ok(help.includes(flag), `${flag} missing from --help`);
    }
    for (const shown of ['default: "full"', '(default: 256)', '(default: 4)', '(default: 0.001)', '(default: 30)', '(default: 900)', '(default: "relu4_2")', '(default: relu1_1,relu2_1,relu3_1,relu4_1)', 'default: "auto"', '(default: 300s)', '(default: 100)', "the project's .cache/vgg19"]) {
      assert.ok(help.includes(shown), `--help lacks ${shown}`);
    }
    // eval measures the protocol's five style layers; train leaves relu5_1 out (defaults.ts says why).
    const evalHelp = buildProgram().commands.find((c) => c.name() === 'eval')!.helpInformation({ error: false }).replace(/\s+/g, ' ');
    assert.ok(evalHelp.includes('(default: relu1_1,relu2_1,relu3_1,relu4_1,relu5_1)'), 'eval --help lacks its five style layers');
    assert.ok(buildProgram().commands.some((c) => c.name() === 'import-vgg'));
  });

  it('--content-weight takes a number or auto', () => {
    const option = buildProgram().commands.find((c) => c.name() === 'train')!.options.find((o) => o.long === '--content-weight')!;
    assert.equal(option.parseArg!('auto', undefined), 'auto');
    assert.equal(option.parseArg!('250', undefined), 250);
    assert.throws(() => option.parseArg!('lots', undefined), /Expected a finite number/);
  });

  it('--checkpoint-every takes steps or a time', () => {
    assert.deepEqual(parseCheckpointEvery('200'), { steps: 200 });
    assert.deepEqual(parseCheckpointEvery('5m'), { seconds: 300 });
    assert.deepEqual(parseCheckpointEvery('90s'), { seconds: 90 });
    assert.throws(() => parseCheckpointEvery('soon'), /number of steps .* or a time/);
  });
});
