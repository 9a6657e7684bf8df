// The WebGPU code path in Node (dawn.node): on a hardware GPU, or on the software Vulkan driver of
// `npm run setup:vulkan` (lavapipe) where there is none. It must compute what wasm computes:
// inference, training steps (losses and weights), and `nst stylize` end to end. Each test skips,
// saying why, where WebGPU cannot start at all.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { ARCHITECTURE_PRESETS, initialTransformerWeights, seededRandom, transformerForward, transformerWeightSpecs } from 'nst-video/model';
import { readCheckpoint } from '../../trainer/src/training/checkpoint.js';
import { tf, useBackend, useWebGpuOrWhyNot } from '../support/node-backend.js';
import { temporaryDirectory, writePhotos, writeTinyVgg } from '../support/trainer-fixtures.js';

/** The browser backends agree to this much on a 0..255 output (test/browser/stylize-image.test.ts). */
const PIXEL_TOLERANCE = 0.05;

function nst(args: string[]) {
  const result = spawnSync(process.execPath, ['trainer/bin/nst.mjs', ...args], { encoding: 'utf8' });
  assert.equal(result.status, 0, `nst ${args.join(' ')} failed:\n${result.stderr}`);
  return result;
}

describe('WebGPU in Node', () => {
  it('runs the full and slim networks as wasm does', async (t) => {
    const why = await useWebGpuOrWhyNot();
    if (why) return t.skip(why);
    const random = seededRandom(5);
    const photo = Float32Array.from({ length: 48 * 64 * 3 }, () => random() * 255);
    for (const preset of ['full', 'slim'] as const) {
      const arch = ARCHITECTURE_PRESETS[preset];
      const initial = initialTransformerWeights(arch, 2);
      const run = async () => {
        const weights = new Map(transformerWeightSpecs(arch).map((spec) => [spec.name, tf.tensor(initial.get(spec.name)!, [...spec.shape])]));
        const output = transformerForward(weights, arch, tf.tensor4d(photo, [1, 48, 64, 3]));
        const values = (await output.data()) as Float32Array;
        tf.dispose([output, ...weights.values()]);
        return values;
      };
      await useWebGpuOrWhyNot();
      const webgpu = await run();
      await useBackend('wasm');
      const wasm = await run();
      const largest = wasm.reduce((max, value, i) => Math.max(max, Math.abs(value - webgpu[i])), 0);
      assert.ok(largest < PIXEL_TOLERANCE, `${preset}: largest |webgpu - wasm| ${largest} of 255`);
    }
  });

  it('nst train --backend webgpu: the same losses and weights as wasm from the same seed', async (t) => {
    const why = await useWebGpuOrWhyNot();
    if (why) return t.skip(why);
    const root = await temporaryDirectory('webgpu-train');
    const photos = join(root, 'photos');
    await writePhotos(photos, 3);
    const style = join(root, 'style.png');
    await sharp(Buffer.from(Array.from({ length: 40 * 40 * 3 }, (_, i) => (i * 31) % 256)), { raw: { width: 40, height: 40, channels: 3 } }).png().toFile(style);
    const vgg = await writeTinyVgg(join(root, 'vgg'));
    // Both in float32 (wasm's native convolutions would otherwise be bfloat16 where the CPU has it).
    const trainOn = async (backend: string) => {
      const out = join(root, backend);
      nst(['train', '--style', style, '--content', photos, '--vgg', vgg, '--out', out, '--arch', 'slim', '--size', '32', '--batch', '2',
        '--steps', '3', '--lr', '1e-2', '--preview-every', '0', '--backend', backend, '--precision', 'float32']);
      const log = (await readFile(join(out, 'train-log.jsonl'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as Record<string, number>);
      return { log, weights: (await readCheckpoint(join(out, 'checkpoint.nst'))).weights };
    };
    const [webgpu, wasm] = [await trainOn('webgpu'), await trainOn('wasm')];
    for (const [i, step] of wasm.log.entries()) {
      for (const key of ['total', 'content', 'style'] as const) {
        const relative = Math.abs(webgpu.log[i][key] - step[key]) / Math.abs(step[key]);
        assert.ok(relative < 1e-3, `step ${step.step} ${key}: wasm ${step[key]}, webgpu ${webgpu.log[i][key]}`);
      }
    }
    // After three Adam steps the weights agree too. Adam moves every weight by about lr whatever
    // the gradient's size, and some gradients are zero but for float noise (an offset right before
    // a residual sum, which the next instance norm removes): their noise differs between backends
    // and moves them either way. So compare all weights' mean difference with their mean update.
    const initial = initialTransformerWeights(ARCHITECTURE_PRESETS.slim, 0);
    let difference = 0;
    let update = 0;
    for (const [name, values] of wasm.weights) {
      const other = webgpu.weights.get(name)!;
      const start = initial.get(name)!;
      values.forEach((value, i) => {
        difference += Math.abs(value - other[i]);
        update += Math.abs(value - start[i]);
      });
    }
    assert.ok(difference <= 0.05 * update, `mean |webgpu - wasm| is ${(difference / update).toFixed(3)} of the mean update`);
  });

  it('nst stylize --backend webgpu writes what wasm writes', async (t) => {
    const why = await useWebGpuOrWhyNot();
    if (why) return t.skip(why);
    const root = await temporaryDirectory('webgpu-stylize');
    const [photo] = await writePhotos(join(root, 'photos'), 1);
    nst(['init', '--arch', 'slim', '--seed', '4', '--out', join(root, 'model')]);
    const stylize = async (backend: string) => {
      const output = join(root, `${backend}.png`);
      const run = nst(['stylize', '--model', join(root, 'model'), '--input', join(root, 'photos', photo), '--output', output, '--size', '64', '--backend', backend]);
      assert.match(run.stdout, new RegExp(`on ${backend}`));
      return sharp(output).raw().toBuffer();
    };
    const [webgpu, wasm] = [await stylize('webgpu'), await stylize('wasm')];
    assert.equal(webgpu.length, wasm.length);
    const largest = wasm.reduce((max, value, i) => Math.max(max, Math.abs(value - webgpu[i])), 0);
    assert.ok(largest <= 1, `largest pixel difference webgpu vs wasm: ${largest} of 255`);
  });
});
