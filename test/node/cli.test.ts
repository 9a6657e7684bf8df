// The `nst` command as a user runs it: help text, init, stylize, and a corrupted model.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { buildProgram } from '../../trainer/src/cli.js';

const run = promisify(execFile);
const NST = join(process.cwd(), 'trainer/bin/nst.mjs');

async function nst(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [NST, ...args], { timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('nst --help', () => {
  it('every subcommand documents every flag with its default (or says it is required)', () => {
    const program = buildProgram();
    assert.ok(program.commands.length >= 2);
    for (const command of program.commands) {
      // Commander wraps long lines; compare with whitespace collapsed.
      const help = command.helpInformation().replace(/\s+/g, ' ');
      for (const option of command.options) {
        assert.ok(help.includes(option.long!), `${command.name()} --help lists ${option.long}`);
        if (option.mandatory) continue;
        const shown = [option.defaultValueDescription, JSON.stringify(option.defaultValue), String(option.defaultValue)].filter(Boolean);
        const documented = option.defaultValue !== undefined ? shown.some((text) => help.includes(`default: ${text}`)) : /default/.test(option.description);
        assert.ok(documented, `${command.name()} ${option.long} shows its default`);
      }
    }
  });

  it('runs as a real process', async () => {
    const { code, stdout } = await nst('stylize', '--help');
    assert.equal(code, 0);
    assert.match(stdout, /--size <px>/);
    assert.match(stdout, /default: "auto"/);
  });
});

describe('nst init + nst stylize', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nst-cli-'));
    // A 300x200 photo-like test image with edges and gradients.
    const width = 300, height = 200;
    const pixels = Buffer.alloc(width * height * 3);
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) pixels.set([x % 256, y, (x * y) % 256], (y * width + x) * 3);
    await sharp(pixels, { raw: { width, height, channels: 3 } }).jpeg().toFile(join(dir, 'photo.jpg'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('writes a PNG whose short side is --size', async () => {
    const init = await nst('init', '--arch', 'slim', '--out', join(dir, 'm'), '--seed', '4');
    assert.equal(init.code, 0, init.stderr);
    assert.match(init.stdout, /slim TransformerNet/);
    const model = JSON.parse(await readFile(join(dir, 'm', 'model.json'), 'utf8'));
    assert.equal(model.userDefinedMetadata.nst.training.seed, 4);
    const out = join(dir, 'out.png');
    const result = await nst('stylize', '--model', join(dir, 'm'), '--input', join(dir, 'photo.jpg'), '--output', out, '--size', '128');
    assert.equal(result.code, 0, result.stderr);
    const meta = await sharp(out).metadata();
    assert.equal(meta.format, 'png');
    assert.deepEqual([meta.width, meta.height], [192, 128]);
    const stats = await sharp(out).stats();
    assert.ok(stats.channels.every((c) => c.stdev > 1), 'the output is not a flat colour');
  });

  it('exits non-zero and names the shard when one byte of it is corrupted', async () => {
    await nst('init', '--arch', 'slim', '--out', join(dir, 'bad'));
    const shard = join(dir, 'bad', 'group1-shard1of1.bin');
    const bytes = await readFile(shard);
    bytes[1234] ^= 0x01;
    await writeFile(shard, bytes);
    const result = await nst('stylize', '--model', join(dir, 'bad'), '--input', join(dir, 'photo.jpg'), '--output', join(dir, 'never.png'));
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /group1-shard1of1\.bin/);
    assert.match(result.stderr, /corrupt/);
  });

  it('--backend webgpu either runs on a GPU or says that WebGPU is missing and what to do', async () => {
    const result = await nst('stylize', '--model', join(dir, 'm'), '--input', join(dir, 'photo.jpg'), '--output', join(dir, 'gpu.png'), '--size', '32', '--backend', 'webgpu');
    if (result.code === 0) assert.match(result.stdout, /on webgpu \(requested\)/);
    else assert.match(result.stderr, /WebGPU is not available: .+\. Use --backend wasm/);
  });

  it('says what is wrong with a missing model or an unreadable photo', async () => {
    const missing = await nst('stylize', '--model', join(dir, 'nope'), '--input', join(dir, 'photo.jpg'), '--output', join(dir, 'x.png'));
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /does not exist/);
    await writeFile(join(dir, 'broken.jpg'), 'not a jpeg');
    const broken = await nst('stylize', '--model', join(dir, 'm'), '--input', join(dir, 'broken.jpg'), '--output', join(dir, 'x.png'));
    assert.notEqual(broken.code, 0);
    assert.match(broken.stderr, /Cannot read image/);
  });
});
