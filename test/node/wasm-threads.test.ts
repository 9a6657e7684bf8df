// The wasm backend on several threads (trainer/src/wasm-threads.ts) gives the same numbers as on
// one: `nst train` logs the same losses step by step and `nst stylize` writes the same picture.
// Each thread count needs its own process (a wasm thread pool is fixed per process).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { temporaryDirectory, writePhotos, writeTinyVgg } from '../support/trainer-fixtures.js';

function nst(args: string[]) {
  const result = spawnSync(process.execPath, ['trainer/bin/nst.mjs', ...args], { encoding: 'utf8' });
  assert.equal(result.status, 0, `nst ${args.join(' ')} failed:\n${result.stderr}`);
  return result;
}

describe('wasm on 1 and 2 threads', () => {
  it('nst train logs the same losses for the same seed', async () => {
    const root = await temporaryDirectory('threads-train');
    const photos = join(root, 'photos');
    await writePhotos(photos, 4);
    const style = join(root, 'style.png');
    await sharp(Buffer.from(Array.from({ length: 64 * 64 * 3 }, (_, i) => (i * 29) % 256)), { raw: { width: 64, height: 64, channels: 3 } }).png().toFile(style);
    const vgg = await writeTinyVgg(join(root, 'vgg'), [16, 16, 32, 32, 32]);
    // float32: oneDNN's bfloat16 kernels order their sums by thread count, and a last-bit
    // difference can round a next layer's input to the neighbouring bfloat16 (2^-8 apart), so in
    // bfloat16 1 and 2 threads agree only to ~3e-4 (measured).
    const losses = (threads: number) => {
      const out = join(root, `out-${threads}`);
      const run = nst(['train', '--style', style, '--content', photos, '--vgg', vgg, '--out', out, '--arch', 'slim', '--size', '96', '--batch', '1',
        '--steps', '4', '--lr', '1e-2', '--preview-every', '0', '--backend', 'wasm', '--threads', String(threads), '--precision', 'float32']);
      assert.match(run.stderr, new RegExp(`Backend: wasm .*, ${threads} thread`));
      return readFile(join(out, 'train-log.jsonl'), 'utf8').then((text) => text.trim().split('\n').map((line) => JSON.parse(line) as Record<string, number>));
    };
    const [one, two] = [await losses(1), await losses(2)];
    assert.equal(two.length, 4);
    for (const [i, step] of one.entries()) {
      for (const key of ['total', 'content', 'style'] as const) {
        const relative = Math.abs(two[i][key] - step[key]) / Math.abs(step[key]);
        assert.ok(relative < 1e-5, `step ${step.step} ${key}: 1 thread ${step[key]}, 2 threads ${two[i][key]} (relative ${relative})`);
      }
    }
  });

  it('nst stylize writes the same picture', async () => {
    const root = await temporaryDirectory('threads-stylize');
    const [photo] = await writePhotos(join(root, 'photos'), 1);
    nst(['init', '--arch', 'full', '--seed', '3', '--out', join(root, 'model')]);
    const pixels = async (threads: number) => {
      const output = join(root, `out-${threads}.png`);
      nst(['stylize', '--model', join(root, 'model'), '--input', join(root, 'photos', photo), '--output', output, '--size', '128', '--backend', 'wasm', '--threads', String(threads)]);
      return (await sharp(output).raw().toBuffer());
    };
    const [one, two] = [await pixels(1), await pixels(2)];
    assert.equal(one.length, two.length);
    const largest = one.reduce((max, value, i) => Math.max(max, Math.abs(value - two[i])), 0);
    assert.ok(largest <= 1, `largest pixel difference between 1 and 2 threads: ${largest} (of 255)`);
  });
});
