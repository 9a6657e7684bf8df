// The `nst` command as a user runs it: help text, exit codes, init, stylize, a corrupted model, and
// every bad flag value refused before any work, naming the flag and what it accepts.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { buildProgram } from '../../trainer/src/cli.js';
import { DEFAULT_STYLE_DIR } from '../../plugin/scripts/default-style.mjs';
import { nstInProcess, nstProcess as nst } from '../support/nst-cli.js';

const run = promisify(execFile);

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

  it('nst train takes a run\'s exact command plus --resume, --init included (a training/*.command file holds it)', async () => {
    const program = buildProgram();
    let resumed: Record<string, unknown> | undefined;
    program.commands.find((command) => command.name() === 'train')!.action((options) => void (resumed = options));
    await program.parseAsync(['node', 'nst', 'train', '--style', 's.png', '--content', 'photos', '--out', 'run', '--init', 'earlier-run', '--resume']);
    assert.equal(resumed?.resume, true);
    assert.equal(resumed?.init, 'earlier-run');
  });

  it('runs as a real process', async () => {
    const { code, stdout } = await nst('stylize', '--help');
    assert.equal(code, 0);
    assert.match(stdout, /--size <px>/);
    assert.match(stdout, /default: "auto"/);
  });

  it('stops quietly when the reader closes the pipe early (nst transcode --help | head -1)', async () => {
    // A real shell pipe: head exits after one line, while nst is still writing.
    const { stdout, stderr } = await run('bash', ['-c', `"${process.execPath}" trainer/bin/nst.mjs transcode --help | head -1; exit \${PIPESTATUS[0]}`]);
    assert.match(stdout, /^Usage: nst transcode/);
    assert.equal(stderr, '', 'nothing on stderr (was an unhandled EPIPE)');
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

  it('without --model stylises in the default style and names it', async () => {
    const style = JSON.parse(await readFile(join(DEFAULT_STYLE_DIR, 'model.json'), 'utf8')).userDefinedMetadata.nst.style.name;
    const out = join(dir, 'default-style.png');
    const result = await nst('stylize', '--input', join(dir, 'photo.jpg'), '--output', out, '--size', '32', '--backend', 'wasm');
    assert.equal(result.code, 0, result.stderr);
    assert.ok(result.stdout.includes(`in the style "${style}"`), result.stdout);
    assert.equal((await sharp(out).metadata()).height, 32);
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

  it('--backend auto keeps Dawn\'s Vulkan probing off stderr', async () => {
    const result = await nst('stylize', '--model', join(dir, 'm'), '--input', join(dir, 'photo.jpg'), '--output', join(dir, 'auto.png'), '--size', '32');
    assert.equal(result.code, 0, result.stderr);
    const backend = / on (\w+) \(auto: /.exec(result.stdout)?.[1];
    assert.ok(backend === 'wasm' || backend === 'webgpu', `stdout names the backend auto chose: ${result.stdout}`);
    assert.doesNotMatch(result.stderr, /vkCreateInstance|CheckVkSuccessImpl/, 'no failed Vulkan probe on stderr');
    // On a hardware GPU auto runs on WebGPU, and Dawn, then in use, may warn about the limits it
    // sets; on wasm nothing of Dawn's may show.
    if (backend === 'wasm') assert.doesNotMatch(result.stderr, /^Warning:|XDG_RUNTIME_DIR/m, 'no Dawn or Vulkan messages on wasm');
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

describe('nst exit codes', () => {
  it('a real process exits 2 on bad usage, 1 on an error, 0 for --help, which states the codes', async () => {
    const unknown = await nst('--bogus');
    assert.equal(unknown.code, 2, unknown.stderr);
    assert.match(unknown.stderr, /unknown option '--bogus'/);
    const missing = await nst('stylize', '--model', join(tmpdir(), 'no-such-model'), '--input', 'x.jpg', '--output', join(tmpdir(), 'x.png'), '--backend', 'wasm');
    assert.equal(missing.code, 1, missing.stderr);
    const help = await nst('train', '--help');
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Exit codes:\s+0\s+done\s+1\s+error.*\s+2\s+bad usage.*\s+130\s+interrupted by Ctrl-C/);
  });

  it('every command\'s --help states the exit codes', async () => {
    for (const command of ['', ...buildProgram().commands.map((c) => c.name())]) {
      const result = await nstInProcess(...[command, '--help'].filter(Boolean));
      assert.equal(result.code, 0, command);
      assert.match(result.stdout, /Exit codes:[^]*2 +bad usage[^]*130 +interrupted/, `nst ${command} --help`);
    }
  });

  // Each: the arguments after the command, and what the message must say. All exit 2 before any work.
  const model = join(tmpdir(), 'never-read-model');
  const train = ['train', '--style', 's.png', '--content', 'photos', '--out', join(tmpdir(), 'never-written'), '--vgg', 'vgg'];
  const evaluate = ['eval', '--model', model, '--style', 's.png', '--content', 'photos', '--vgg', 'vgg'];
  const stylize = ['stylize', '--model', model, '--input', 'in.jpg', '--output', join(tmpdir(), 'never-written.png')];
  const badValues: [string[], RegExp][] = [
    [[...evaluate, '--size', '30'], /'--size <px>' argument '30' is invalid\. Expected a multiple of 4, at least 32/],
    [[...evaluate, '--size', '0'], /'--size <px>' argument '0' is invalid/],
    [[...evaluate, '--size', '-32'], /'--size <px>' argument '-32' is invalid/],
    [[...evaluate, '--limit', '0'], /'--limit <n>' argument '0' is invalid\. Expected a whole number of 1 or more/],
    [[...evaluate, '--limit', '-3'], /'--limit <n>' argument '-3' is invalid/],
    [[...evaluate, '--style-size', '0'], /'--style-size <px>' argument '0'/],
    [[...evaluate, '--style-long-side', '-1'], /'--style-long-side <px>' argument '-1'/],
    [[...evaluate, '--style-size', '64', '--style-long-side', '64'], /'--style-long-side <px>' cannot be used with option '--style-size <px>'/],
    [[...evaluate, '--style-layers', 'relu1_1,relu9_9'], /'--style-layers <layers>'.*"relu9_9" is not a VGG19 layer; use one of relu1_1/],
    [[...evaluate, '--content-layer', 'conv1'], /'--content-layer <layer>'.*"conv1" is not a VGG19 layer/],
    [[...evaluate, '--threads', '0'], /'--threads <n>' argument '0' is invalid\. --threads must be an integer from 1 to 8/],
    [[...evaluate, '--threads', '1.5'], /'--threads <n>' argument '1\.5' is invalid\. Expected a whole number/],
    [[...train, '--size', '30'], /'--size <px>' argument '30' is invalid\. Expected a multiple of 4, at least 32/],
    [[...train, '--size', ''], /'--size <px>' argument '' is invalid/],
    [[...train, '--batch', '0'], /'--batch <n>' argument '0'/],
    [[...train, '--steps', '0'], /'--steps <n>' argument '0'/],
    [[...train, '--epochs', '-1'], /'--epochs <n>' argument '-1'/],
    [[...train, '--lr', '0'], /'--lr <rate>' argument '0' is invalid\. Expected a number above 0/],
    [[...train, '--lr', 'NaN'], /'--lr <rate>' argument 'NaN' is invalid\. Expected a finite number/],
    [[...train, '--content-weight', '-1'], /'--content-weight <w>' argument '-1' is invalid\. Expected a number of 0 or more/],
    [[...train, '--style-weight', 'Infinity'], /'--style-weight <w>' argument 'Infinity'/],
    [[...train, '--tv-weight', 'x'], /'--tv-weight <w>' argument 'x'/],
    [[...train, '--preview-every', '-1'], /'--preview-every <steps>' argument '-1' is invalid\. Expected a whole number of 0 or more/],
    [[...train, '--micro-batch', '0'], /'--micro-batch <n>' argument '0'/],
    [[...train, '--checkpoint-every', '0'], /'--checkpoint-every <steps\|time>' argument '0'.*e\.g\. 200.*300s/],
    [[...train, '--checkpoint-every', '5x'], /'--checkpoint-every <steps\|time>' argument '5x'/],
    [[...train, '--seed', '1.5'], /'--seed <n>' argument '1\.5' is invalid\. Expected a whole number/],
    [[...train, '--resume', '--force'], /'--force' cannot be used with option '--resume'/],
    [[...train, '--threads', '99'], /'--threads <n>' argument '99'.*from 1 to 8/],
    [[...stylize, '--size', '0'], /'--size <px>' argument '0' is invalid\. Expected a whole number of 16 or more/],
    [[...stylize, '--size', '12.5'], /'--size <px>' argument '12\.5'/],
    [[...stylize, '--backend', 'metal'], /'--backend <name>' argument 'metal' is invalid\. Allowed choices are auto, webgpu, wasm, cpu/],
    [[...stylize, '--threads', '9'], /'--threads <n>' argument '9'/],
    [['init', '--out', join(tmpdir(), 'never-written'), '--arch', 'huge'], /'--arch <preset>' argument 'huge' is invalid\. Allowed choices are full, slim/],
    [['init', '--out', join(tmpdir(), 'never-written'), '--seed', 'x'], /'--seed <n>' argument 'x'/],
    [['stylize', '--model', model], /required option '--input <image>' not specified/],
  ];
  for (const [args, message] of badValues) {
    it(`exits 2 and names the flag: nst ${args.filter((a) => !a.startsWith(tmpdir())).join(' ')}`, async () => {
      const result = await nstInProcess(...args);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr.replace(/\s+/g, ' '), message);
      assert.match(result.stderr, /run with --help for usage/);
      assert.ok(!existsSync(join(tmpdir(), 'never-written')) && !existsSync(join(tmpdir(), 'never-written.png')), 'nothing written');
    });
  }
});

describe('nst stylize and nst init replace nothing silently', () => {
  let dir: string;
  let photo: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nst-outputs-'));
    photo = join(dir, 'photo.jpg');
    await sharp({ create: { width: 40, height: 32, channels: 3, background: { r: 200, g: 90, b: 30 } } }).jpeg().toFile(photo);
    assert.equal((await nstInProcess('init', '--arch', 'slim', '--out', join(dir, 'm'))).code, 0);
  });
  after(() => rm(dir, { recursive: true, force: true }));
  const stylize = (...args: string[]) => nstInProcess('stylize', '--model', join(dir, 'm'), '--input', photo, '--backend', 'wasm', '--threads', '1', ...args);

  it('refuses to write over its own --input, even with --force (exit 2)', async () => {
    const before = await readFile(photo);
    for (const output of [photo, join(dir, '.', 'photo.jpg')]) {
      const result = await stylize('--output', output, '--force');
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /--output ".*photo\.jpg" is the --input photo; choose another --output/);
    }
    assert.deepEqual(await readFile(photo), before);
  });

  it('refuses an existing --output without --force (exit 1) and replaces it with --force', async () => {
    const output = join(dir, 'taken.png');
    await writeFile(output, 'mine');
    const refused = await stylize('--output', output);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /--output ".*taken\.png" exists; pass --force to replace it, or choose another --output/);
    assert.equal(await readFile(output, 'utf8'), 'mine');
    const forced = await stylize('--output', output, '--force');
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal((await sharp(output).metadata()).format, 'png');
  });

  it('checks the --output type and folder before the work', async () => {
    const gif = await stylize('--output', join(dir, 'out.gif'));
    assert.equal(gif.code, 2, gif.stderr);
    assert.match(gif.stderr, /--output ".*out\.gif": the file name must end in \.png, \.jpg, \.jpeg, \.webp/);
    assert.doesNotMatch(gif.stdout, /Wrote/);
    const folder = await stylize('--output', join(dir, 'no-such-folder', 'out.png'));
    assert.equal(folder.code, 1, folder.stderr);
    assert.match(folder.stderr, /the folder .*no-such-folder does not exist; create it, or choose another --output/);
  });

  it('refuses a --size too large for the backend\'s memory before allocating, naming a size that fits', async () => {
    const started = performance.now();
    const result = await stylize('--output', join(dir, 'huge.png'), '--size', '100000');
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /--size 100000: a 125000x100000 result needs about [\d.]+ GiB on wasm, which holds 4\.0 GiB at most; pass --size (\d+) or less/);
    assert.ok(performance.now() - started < 20_000, 'refused at once');
    const fits = Number(/pass --size (\d+)/.exec(result.stderr)![1]);
    assert.ok(fits > 1000 && fits < 3000, `the size that fits (${fits}) is plausible for slim in 4 GiB`);
    assert.ok(!existsSync(join(dir, 'huge.png')));
  });

  it('nst init refuses an --out that holds a model without --force', async () => {
    const json = join(dir, 'm', 'model.json');
    const before = await readFile(json);
    const refused = await nstInProcess('init', '--arch', 'slim', '--seed', '9', '--out', join(dir, 'm'));
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /--out ".*m" already holds a model \(model\.json\); pass --force to replace it, or choose another --out/);
    assert.deepEqual(await readFile(json), before);
    const forced = await nstInProcess('init', '--arch', 'slim', '--seed', '9', '--out', join(dir, 'm'), '--force');
    assert.equal(forced.code, 0, forced.stderr);
    assert.notDeepEqual(await readFile(json), before);
  });

  it('nst import-vgg refuses an --out that holds a model without --force, before reading the .h5', async () => {
    const json = join(dir, 'm', 'model.json');
    const before = await readFile(json);
    const refused = await nstInProcess('import-vgg', join(dir, 'no-such.h5'), '--out', join(dir, 'm'));
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /--out ".*m" already holds a model \(model\.json\); pass --force to replace it/);
    assert.deepEqual(await readFile(json), before);
    const forced = await nstInProcess('import-vgg', join(dir, 'no-such.h5'), '--out', join(dir, 'm'), '--force');
    assert.equal(forced.code, 1);
    assert.doesNotMatch(forced.stderr, /already holds a model/, 'with --force it goes on to read the .h5');
  });
});
