// nst train end to end: a resumed run ends with exactly the weights of an uninterrupted one, a
// non-finite loss stops the run and keeps the last good checkpoint, and 20 steps with the real
// VGG19 from ../shared lower the loss of the model on photos.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { ARCHITECTURE_PRESETS, StyleModel, encodeStyleModel, initialTransformerWeights, readStyleModel } from 'nst-video/model';
import { main } from '../../trainer/src/cli.js';
import { loadStyleModelFromDisk, readStyleModelFromDisk } from '../../trainer/src/model-files.js';
import { nativeBfloat16 } from '../../trainer/src/kernels/native-kernels.js';
import { CHECKPOINT_FILE, readCheckpoint, writeCheckpoint } from '../../trainer/src/training/checkpoint.js';
import { AUTO_CONTENT_WEIGHT_PER_IDENTITY_LOSS, DEFAULT_CONTENT_WEIGHT, DEFAULT_STYLE_LAYERS, DEFAULT_STYLE_WEIGHT } from '../../trainer/src/training/defaults.js';
import { evaluateModel } from '../../trainer/src/training/evaluate.js';
import { learningRateAt, NonFiniteLossError, train, type TrainOptions } from '../../trainer/src/training/train-loop.js';
import { memoryModelFiles } from '../support/model-fixtures.js';
import { useBackend } from '../support/node-backend.js';
import { nstInProcess, snapshotFiles } from '../support/nst-cli.js';
import { SHARED_PHOTOS, SHARED_STYLE, SHARED_VGG, sharedDataMissing, temporaryDirectory, writePhotos, writeTinyVgg } from '../support/trainer-fixtures.js';

const quiet = { message: () => {}, update: () => {} } as unknown as TrainOptions['progress'];

async function tinySetup(name: string) {
  const root = await temporaryDirectory(name);
  const photos = join(root, 'photos');
  await writePhotos(photos, 7);
  const style = join(root, 'style.png');
  await sharp(Buffer.from(Array.from({ length: 48 * 48 * 3 }, (_, i) => (i * 37) % 256)), { raw: { width: 48, height: 48, channels: 3 } }).png().toFile(style);
  return { root, photos, style, vgg: await writeTinyVgg(join(root, 'vgg')) };
}

function options(setup: Awaited<ReturnType<typeof tinySetup>>, out: string, overrides: Partial<TrainOptions> = {}): TrainOptions {
  return {
    style: setup.style,
    content: setup.photos,
    out,
    vgg: setup.vgg,
    arch: 'slim',
    size: 32,
    batch: 2,
    microBatch: 1,
    steps: 20,
    epochs: 1,
    lr: 1e-2,
    contentWeight: 1,
    styleWeight: 100,
    tvWeight: 1e-4,
    contentLayer: 'relu4_2',
    styleLayers: [...DEFAULT_STYLE_LAYERS],
    seed: 7,
    checkpointEvery: { steps: 5 },
    resume: false,
    previewEvery: 5,
    storage: 'float16',
    backend: 'wasm',
    command: 'test',
    progress: quiet,
    log: () => {},
    ...overrides,
  };
}

describe('nst train (wasm, tiny loss network)', () => {
  it('10 steps, then --resume to 20, gives the same weights, log and data order as 20 straight steps', async () => {
    await useBackend('wasm');
    const setup = await tinySetup('resume');
    const straight = join(setup.root, 'straight');
    const resumed = join(setup.root, 'resumed');
    const full = await train(options(setup, straight));
    assert.equal(full.steps, 20);
    assert.ok(full.completed);
    const first = await train(options(setup, resumed, { steps: 10 }));
    assert.equal(first.steps, 10);
    const second = await train(options(setup, resumed, { resume: true }));
    assert.equal(second.steps, 20);

    const a = await readCheckpoint(join(straight, CHECKPOINT_FILE));
    const b = await readCheckpoint(join(resumed, CHECKPOINT_FILE));
    assert.deepEqual(b.header.data, a.header.data);
    for (const [name, values] of a.weights) assert.deepEqual(b.weights.get(name), values, `weight ${name} differs after resume`);
    for (const [name, values] of a.adam.m) assert.deepEqual(b.adam.m.get(name), values, `Adam moment of ${name} differs`);
    const logA = (await readFile(join(straight, 'train-log.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    const logB = (await readFile(join(resumed, 'train-log.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(logB.map((p) => p.step), Array.from({ length: 20 }, (_, i) => i + 1));
    assert.deepEqual(logB.map((p) => p.total), logA.map((p) => p.total));
    // The CPU time of the steps adds up over the resume, and is CPU time: more than none, no more
    // than every core for the step's wall time (a lower bound would fail on a loaded machine).
    const logCpu = logB.reduce((sum, p) => sum + p.cpuSeconds, 0);
    assert.ok(Math.abs(b.header.cpu!.seconds - logCpu) < 0.05, `checkpoint ${b.header.cpu!.seconds} s vs log ${logCpu} s`);
    assert.equal(b.header.cpu!.fromStep, 0);
    assert.deepEqual(second.cpu, b.header.cpu);
    assert.ok(logB.every((p) => p.cpuSeconds > 0 && p.cpuSeconds <= p.seconds * availableParallelism() + 0.01), 'cpuSeconds are the steps\' CPU time');

    // What the output directory holds at the end.
    for (const file of ['model.json', 'loss-curve.svg', 'previews/photos.png', 'previews/step-000005.png', 'previews/step-000020.png']) {
      assert.ok(existsSync(join(straight, file)), `${file} is missing`);
    }
    assert.match(await readFile(join(straight, 'loss-curve.svg'), 'utf8'), /<svg[^]*<path d="M/);
    const model = await loadStyleModelFromDisk(straight);
    const record = model.metadata.training as Record<string, unknown>;
    assert.equal(model.metadata.storage, 'float16');
    assert.equal(model.styleName, 'style');
    assert.equal(record.steps, 20);
    assert.equal(record.complete, true);
    assert.equal(record.cpuSeconds, Math.round(a.header.cpu!.seconds));
    assert.deepEqual(record.dataset, { photos: 7, unreadable: 0 });
    assert.equal(record.command, 'test');
    assert.ok(Number.isFinite((record.losses as { total: number }).total));
    model.dispose();

    // nst eval on the trained model prints its losses as JSON.
    const printed: string[] = [];
    const log = console.log;
    console.log = (text: string) => printed.push(text);
    try {
      const code = await main(['node', 'nst', 'eval', '--model', straight, '--style', setup.style, '--content', setup.photos, '--vgg', setup.vgg, '--size', '32', '--limit', '3', '--backend', 'wasm', '--style-long-side', '40']);
      assert.equal(code, 0);
    } finally {
      console.log = log;
    }
    const report = JSON.parse(printed.join('\n'));
    assert.equal(report.photos, 3);
    assert.equal(report.styleName, 'style');
    assert.ok(report.styleLoss > 0 && report.contentLoss > 0);
    assert.equal(report.weightedStyleLoss, report.styleLoss * 100);
    // The style image (48x48) at a long side of 40, and the unchanged photos' style loss beside the model's.
    assert.deepEqual(report.styleImage, { longSide: 40, width: 40, height: 40 });
    assert.ok(report.identityStyleLoss > 0 && report.identityStyleLoss !== report.styleLoss);
    assert.ok(Math.abs(report.stylePercentOfIdentity - (100 * report.styleLoss) / report.identityStyleLoss) < 1e-9 * report.stylePercentOfIdentity);
    // Layer by layer, summing to the totals.
    const byLayer = Object.entries(report.styleLossByLayer as Record<string, { model: number; identity: number; percentOfIdentity: number }>);
    assert.deepEqual(byLayer.map(([layer]) => layer), report.styleLayers);
    const sum = (pick: (terms: { model: number; identity: number }) => number) => byLayer.reduce((total, [, terms]) => total + pick(terms), 0);
    assert.ok(Math.abs(sum((t) => t.model) - report.styleLoss) < 1e-9 * report.styleLoss);
    assert.ok(Math.abs(sum((t) => t.identity) - report.identityStyleLoss) < 1e-9 * report.identityStyleLoss);
    for (const [, terms] of byLayer) assert.ok(Math.abs(terms.percentOfIdentity - (100 * terms.model) / terms.identity) < 1e-9 * terms.percentOfIdentity);
    // Photo by photo, averaging to the means.
    const byPhoto = report.byPhoto as { file: string; contentLoss: number; styleLoss: number; identityStyleLoss: number; stylePercentOfIdentity: number }[];
    assert.equal(byPhoto.length, 3);
    assert.equal(new Set(byPhoto.map((p) => p.file)).size, 3);
    const mean = (pick: (p: (typeof byPhoto)[number]) => number) => byPhoto.reduce((total, p) => total + pick(p), 0) / byPhoto.length;
    assert.ok(Math.abs(mean((p) => p.contentLoss) - report.contentLoss) < 1e-9 * report.contentLoss);
    assert.ok(Math.abs(mean((p) => p.styleLoss) - report.styleLoss) < 1e-9 * report.styleLoss);
    assert.ok(Math.abs(mean((p) => p.identityStyleLoss) - report.identityStyleLoss) < 1e-9 * report.identityStyleLoss);
    for (const p of byPhoto) assert.ok(Math.abs(p.stylePercentOfIdentity - (100 * p.styleLoss) / p.identityStyleLoss) < 1e-9 * p.stylePercentOfIdentity);
  });

  it('--crop center reuses each photo\'s content features from the second epoch on, with the losses of recomputing them', async () => {
    await useBackend('wasm');
    const setup = await tinySetup('content-cache');
    // 7 photos, batch 2: 10 steps are ~3 epochs.
    const recomputed = await train(options(setup, join(setup.root, 'recomputed'), { steps: 10, crop: 'center', contentCache: 0, previewEvery: 0 }));
    const kept = await train(options(setup, join(setup.root, 'kept'), { steps: 10, crop: 'center', previewEvery: 0 }));
    assert.equal(recomputed.contentFeaturesReused, 0);
    assert.equal(kept.contentFeaturesReused, 20 - 7);
    const losses = async (run: string) => (await readFile(join(setup.root, run, 'train-log.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l).total as number);
    const [a, b] = [await losses('recomputed'), await losses('kept')];
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= 1e-5 * Math.abs(a[i]), `step ${i + 1}: ${b[i]} with kept features, ${a[i]} recomputed`);

    // The crop mode decides the weights: a resume keeps it.
    await assert.rejects(
      train(options(setup, join(setup.root, 'kept'), { steps: 12, resume: true, crop: 'random', explicitOptions: new Set(['crop']) })),
      /--crop is "random" but the checkpoint was trained with "center"/,
    );
  });

  it('--lr-final: the rate falls from --lr to --lr-final along a half cosine, the same after a resume, and is recorded', async () => {
    await useBackend('wasm');
    const setup = await tinySetup('schedule');
    const [straight, resumed] = [join(setup.root, 'straight'), join(setup.root, 'resumed')];
    await train(options(setup, straight, { steps: 6, lr: 1e-2, lrFinal: 1e-3 }));
    // Stopped after 3 of its 6 steps (as by Ctrl-C), then resumed: the curve is the same.
    const stop = new AbortController();
    const stopAtThree = { message: () => {}, update: ({ step }: { step: number }) => step === 3 && stop.abort() } as unknown as TrainOptions['progress'];
    await train(options(setup, resumed, { steps: 6, lr: 1e-2, lrFinal: 1e-3, progress: stopAtThree, signal: stop.signal }));
    assert.equal((await readCheckpoint(join(resumed, CHECKPOINT_FILE))).header.step, 3);
    await train(options(setup, resumed, { steps: 6, resume: true }));
    const rates = async (out: string) => (await readFile(join(out, 'train-log.jsonl'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line).lr as number);
    const expected = [0, 1, 2, 3, 4, 5].map((step) => 1e-3 + 9e-3 * 0.5 * (1 + Math.cos((Math.PI * step) / 5)));
    const straightRates = await rates(straight);
    straightRates.forEach((rate, step) => assert.ok(Math.abs(rate - expected[step]) < 1e-12, `step ${step + 1}: rate ${rate}, expected ${expected[step]}`));
    assert.deepEqual(await rates(resumed), straightRates);
    const a = await readCheckpoint(join(straight, CHECKPOINT_FILE));
    const b = await readCheckpoint(join(resumed, CHECKPOINT_FILE));
    for (const [name, values] of a.weights) assert.deepEqual(b.weights.get(name), values, `weight ${name} differs after resume`);
    assert.equal((await loadStyleModelFromDisk(straight)).metadata.training.learningRateFinal, 1e-3);
    assert.equal(learningRateAt(0, 100, 1e-3, undefined), 1e-3, 'constant without --lr-final');
  });

  it('--average-steps: the model holds the moving average of the steps\' weights, kept exactly over a resume, and recorded', async () => {
    await useBackend('wasm');
    const setup = await tinySetup('average');
    const run = (out: string, overrides: Partial<TrainOptions>) => train(options(setup, join(setup.root, out), { previewEvery: 0, storage: 'float32', ...overrides }));
    // The weights after each of the first 4 steps (a run of n steps makes the same first n steps).
    const stepWeights: Map<string, Float32Array>[] = [];
    for (const steps of [1, 2, 3, 4]) {
      await run(`plain-${steps}`, { steps });
      stepWeights.push((await readCheckpoint(join(setup.root, `plain-${steps}`, CHECKPOINT_FILE))).weights);
    }
    await run('averaged', { steps: 4, averageSteps: 2 });
    // Stopped after 2 of its 4 steps (as by Ctrl-C), then resumed.
    const stop = new AbortController();
    const stopAtTwo = { message: () => {}, update: ({ step }: { step: number }) => step === 2 && stop.abort() } as unknown as TrainOptions['progress'];
    await run('resumed', { steps: 4, averageSteps: 2, progress: stopAtTwo, signal: stop.signal });
    assert.equal((await readCheckpoint(join(setup.root, 'resumed', CHECKPOINT_FILE))).average?.updates, 2);
    await run('resumed', { steps: 4, resume: true });

    const straight = await readCheckpoint(join(setup.root, 'averaged', CHECKPOINT_FILE));
    const resumed = await readCheckpoint(join(setup.root, 'resumed', CHECKPOINT_FILE));
    assert.equal(straight.average?.updates, 4);
    const model = await readStyleModelFromDisk(join(setup.root, 'averaged'));
    for (const [name, last] of stepWeights[3]) {
      // Over 2 steps: the mean of steps 1 and 2, then halfway to each new step's weights.
      const expected = last.map((w4, i) => 0.5 * w4 + 0.25 * stepWeights[2].get(name)![i] + 0.125 * (stepWeights[1].get(name)![i] + stepWeights[0].get(name)![i]));
      const average: Float32Array = straight.average!.weights.get(name)!;
      expected.forEach((value, i) => assert.ok(Math.abs(average[i] - value) <= 1e-6 + 1e-5 * Math.abs(value), `${name}[${i}]: average ${average[i]}, expected ${value}`));
      // Averaging changes only what is exported: training follows the same steps.
      assert.deepEqual(straight.weights.get(name), last, `${name}: the trained weights differ with averaging`);
      assert.deepEqual(resumed.average!.weights.get(name), average, `${name}: the average differs after a resume`);
      assert.deepEqual(model.weights.get(name), average, `${name}: the model does not hold the average`);
    }
    const record = model.metadata.training as Record<string, unknown>;
    assert.equal(record.averageSteps, 2);
    assert.equal(record.averagedUpdates, 4);
  });

  it('--content-weight auto: in proportion to the painting\'s style loss on the unchanged photos; recorded; kept on resume', async () => {
    await useBackend('wasm');
    const setup = await tinySetup('auto-weight');
    // A second painting: the same pattern at a third of the contrast.
    const faded = join(setup.root, 'faded.png');
    await sharp(setup.style).linear(1 / 3, 85).png().toFile(faded);
    const weights: number[] = [];
    for (const [name, style] of [['pattern', setup.style], ['faded', faded]]) {
      const out = join(setup.root, name);
      await train(options(setup, out, { style, steps: 2, previewEvery: 0, contentWeight: 'auto' }));
      const model = await loadStyleModelFromDisk(out);
      const record = model.metadata.training as unknown as { weights: { content: number }; contentWeightAuto: unknown };
      // The identity that nst eval reports for the same photos (all 7: fewer than the 16 auto reads).
      const evaluation = await evaluateModel(model, { style, content: setup.photos, vgg: setup.vgg, size: 32, contentLayer: 'relu4_2', styleLayers: [...DEFAULT_STYLE_LAYERS], limit: 16 });
      model.dispose();
      assert.deepEqual(record.contentWeightAuto, { identityStyleLoss: Math.round(evaluation.identityStyleLoss), photos: 7 });
      const expected = AUTO_CONTENT_WEIGHT_PER_IDENTITY_LOSS * evaluation.identityStyleLoss;
      assert.ok(Math.abs(record.weights.content - expected) <= expected * 1e-3, `${name}: content weight ${record.weights.content}, expected ${expected}`);
      assert.equal((await readCheckpoint(join(out, CHECKPOINT_FILE))).header.config.contentWeight, record.weights.content);
      weights.push(record.weights.content);
    }
    assert.notEqual(weights[0], weights[1]);
    // A resume typed with auto again continues with the number chosen at the start.
    const logged: string[] = [];
    await train(options(setup, join(setup.root, 'pattern'), { steps: 3, resume: true, contentWeight: 'auto', explicitOptions: new Set(['contentWeight']), log: (m) => logged.push(m) }));
    assert.ok(logged.some((m) => m.includes(`Using the checkpoint's --content-weight ${weights[0]} (auto chose it`)), logged.join('\n'));
    // ...and the resumed run's model still records how.
    const resumed = await loadStyleModelFromDisk(join(setup.root, 'pattern'));
    assert.equal((resumed.metadata.training as unknown as { contentWeightAuto: { photos: number } }).contentWeightAuto.photos, 7);
    resumed.dispose();
  });

  it('--precision: auto is bfloat16 where the CPU has it, float32 when asked; recorded; bfloat16 refused where it cannot be had', async () => {
    await useBackend('wasm');
    const setup = await tinySetup('precision');
    const recorded = async (out: string) => {
      const model = await loadStyleModelFromDisk(out);
      model.dispose();
      return (model.metadata.training as Record<string, unknown>).precision;
    };
    await train(options(setup, join(setup.root, 'auto'), { steps: 2 }));
    assert.equal(await recorded(join(setup.root, 'auto')), nativeBfloat16().available ? 'bfloat16' : 'float32');
    await train(options(setup, join(setup.root, 'float32'), { steps: 2, precision: 'float32' }));
    assert.equal(await recorded(join(setup.root, 'float32')), 'float32');
    const refused = join(setup.root, 'refused');
    await assert.rejects(train(options(setup, refused, { steps: 2, backend: 'cpu', precision: 'bfloat16' })), /--precision bfloat16 cannot be had here: the cpu backend computes in float32\. Use --precision float32 or auto\./);
    assert.equal(existsSync(refused), false);
  });

  it('stops on a non-finite loss with a clear message and keeps the last good checkpoint', async () => {
    await useBackend('wasm');
    const setup = await tinySetup('nan');
    const out = join(setup.root, 'run');
    await train(options(setup, out, { steps: 2, checkpointEvery: { steps: 1 }, previewEvery: 0 }));
    // Make the saved run's style weight overflow float32, as a diverging run would.
    const path = join(out, CHECKPOINT_FILE);
    const good = await readCheckpoint(path);
    good.header.config.styleWeight = 1e39;
    await writeCheckpoint(path, good);
    const before = await readFile(path);
    await assert.rejects(train(options(setup, out, { steps: 4, resume: true })), (error: Error) => {
      assert.ok(error instanceof NonFiniteLossError);
      assert.match(error.message, /Step 3: the loss or its gradient is not finite/);
      assert.match(error.message, /last good checkpoint \(step 2\)/);
      return true;
    });
    assert.deepEqual(await readFile(path), before);
  });

  it('refuses to resume with a contradicting typed option', async () => {
    await useBackend('wasm');
    const setup = await tinySetup('conflict');
    const out = join(setup.root, 'run');
    await train(options(setup, out, { steps: 1, previewEvery: 0 }));
    await assert.rejects(train(options(setup, out, { steps: 2, resume: true, size: 36, explicitOptions: new Set(['size']) })), /--size is 36 but the checkpoint was trained with 32/);
    await assert.rejects(train(options(setup, out, { steps: 2, resume: true, crop: 'random', cropZoom: 1.5, explicitOptions: new Set(['cropZoom']) })), /--crop-zoom is 1.5 but the checkpoint was trained with 1/);
    // Zoom is for random crops: centre crops are refused one before anything loads.
    await assert.rejects(train(options(setup, join(setup.root, 'zoomed-centre'), { steps: 1, crop: 'center', cropZoom: 1.5 })), /--crop-zoom zooms random crops: use it with --crop random/);
    const zoomed = join(setup.root, 'zoomed');
    await train(options(setup, zoomed, { steps: 1, crop: 'random', cropZoom: 1.5, previewEvery: 0 }));
    const record = (await loadStyleModelFromDisk(zoomed)).metadata.training as Record<string, unknown>;
    assert.equal(record.crop, 'random');
    assert.equal(record.cropZoom, 1.5);
  });

  it('--init starts a new run from a trained model\'s weights, growing a smaller network into --arch', async () => {
    await useBackend('wasm');
    const setup = await tinySetup('init');
    const first = join(setup.root, 'first');
    await train(options(setup, first, { steps: 3, previewEvery: 0 }));
    // One step at a learning rate too small to move anything: the run's weights are --init's.
    const warm = join(setup.root, 'warm');
    await train(options(setup, warm, { steps: 1, lr: 1e-12, seed: 99, previewEvery: 0, init: first }));
    const trained = (await readCheckpoint(join(first, CHECKPOINT_FILE))).weights;
    const started = (await readCheckpoint(join(warm, CHECKPOINT_FILE))).weights;
    for (const [name, values] of trained) {
      // The model stores float16: --init's weights are the exported ones, within float16 rounding.
      const largest = values.reduce((max, value, i) => Math.max(max, Math.abs(value - started.get(name)![i]) / Math.max(1, Math.abs(value))), 0);
      assert.ok(largest < 1e-3, `${name}: the warm-started run's weights differ from the model's by ${largest}`);
    }
    assert.equal((await loadStyleModelFromDisk(warm)).metadata.training.initialisedFrom, first);
    // A slim model grows into a full run (widen-network.test.ts checks it paints the same); a full
    // one cannot shrink into a slim run.
    const grown = join(setup.root, 'grown');
    await train(options(setup, grown, { steps: 1, lr: 1e-12, arch: 'full', previewEvery: 0, init: first }));
    assert.equal((await loadStyleModelFromDisk(grown)).architecture.channels.join('/'), '32/64/128');
    await assert.rejects(
      train(options(setup, join(setup.root, 'shrunk'), { steps: 1, arch: 'slim', init: grown })),
      /--init ".*grown" cannot start an --arch slim run: its channels 32\/64\/128 are wider than 16\/32\/64/,
    );
  });
});

describe('nst train never loses a run', () => {
  it('refuses a new run over an existing one; a run that fails to start leaves --out byte for byte as it was', async () => {
    const setup = await tinySetup('keep');
    const out = join(setup.root, 'run');
    const missing = join(setup.root, 'no-such-photos');
    const args = ['train', '--style', setup.style, '--content', setup.photos, '--vgg', setup.vgg, '--out', out,
      '--arch', 'slim', '--size', '32', '--batch', '1', '--steps', '2', '--preview-every', '1', '--backend', 'wasm'];
    const first = await nstInProcess(...args);
    assert.equal(first.code, 0, first.stderr);
    const before = await snapshotFiles(out);
    for (const file of ['checkpoint.nst', 'model.json', 'train-log.jsonl', join('previews', 'step-000002.png')]) assert.ok(before.has(file), file);

    const again = await nstInProcess(...args);
    assert.equal(again.code, 1, again.stderr);
    assert.match(again.stderr, /--out ".*run" already holds a training run \(checkpoint\.nst, model\.json, train-log\.jsonl\); continue it with --resume, start over with --force/);
    assert.deepEqual(await snapshotFiles(out), before);

    for (const flag of ['--resume', '--force']) {
      const failed = await nstInProcess(...args.map((a) => (a === setup.photos ? missing : a)), flag);
      assert.equal(failed.code, 1, failed.stderr);
      assert.match(failed.stderr, /Cannot read the photo folder ".*no-such-photos"/);
      assert.deepEqual(await snapshotFiles(out), before, `a failed ${flag} changed nothing`);
    }
    const previewsMissing = await nstInProcess(...args, '--resume', '--steps', '3', '--preview-images', missing);
    assert.equal(previewsMissing.code, 1, previewsMissing.stderr);
    assert.deepEqual(await snapshotFiles(out), before, 'an unreadable --preview-images folder changed nothing');

    // --force starts over: none of the old run's previews stay to pass for the new run's.
    const forced = await nstInProcess(...args.map((a) => (a === '2' ? '1' : a)), '--force');
    assert.equal(forced.code, 0, forced.stderr);
    const previews = [...(await snapshotFiles(out)).keys()].filter((file) => file.startsWith('previews')).sort();
    assert.deepEqual(previews, [join('previews', 'photos.png'), join('previews', 'step-000001.png')]);

    const fresh = join(setup.root, 'fresh');
    const failed = await nstInProcess(...args.map((a) => (a === setup.photos ? missing : a === out ? fresh : a)));
    assert.equal(failed.code, 1, failed.stderr);
    assert.ok(!existsSync(fresh), 'a failed first run leaves no empty --out or previews/ behind');
  });
});

describe('nst train with the real VGG19 (../shared)', () => {
  it('20 steps on 64 px crops lower the style+content loss of the model on photos', async (t) => {
    const missing = sharedDataMissing();
    if (missing) return t.skip(missing);
    await useBackend('wasm');
    const out = join(await temporaryDirectory('real'), 'run');
    const common = { style: SHARED_STYLE, vgg: SHARED_VGG, size: 64, contentLayer: 'relu4_2' as const, styleLayers: [...DEFAULT_STYLE_LAYERS], limit: 3 };
    await train({
      ...options({ root: out, photos: SHARED_PHOTOS, style: SHARED_STYLE, vgg: SHARED_VGG }, out, {
        steps: 20, batch: 1, microBatch: undefined, lr: 2e-3, contentWeight: DEFAULT_CONTENT_WEIGHT, styleWeight: DEFAULT_STYLE_WEIGHT, tvWeight: 0, previewEvery: 0, seed: 1,
      }),
    });
    const arch = ARCHITECTURE_PRESETS.slim;
    const initial = new StyleModel(await readStyleModel(memoryModelFiles(await encodeStyleModel({
      architecture: arch, weights: initialTransformerWeights(arch, 1), style: { name: 'init' }, training: { kind: 'random-init' }, generatedBy: 'test',
    }))));
    const trained = await loadStyleModelFromDisk(out);
    const score = async (model: StyleModel) => {
      const r = await evaluateModel(model, { ...common, content: SHARED_PHOTOS });
      return r.styleLoss * DEFAULT_STYLE_WEIGHT + r.contentLoss * DEFAULT_CONTENT_WEIGHT;
    };
    const before = await score(initial);
    const after = await score(trained);
    assert.ok(after < 0.9 * before, `loss on photos went from ${before} to ${after}`);
    initial.dispose();
    trained.dispose();
  });
});

describe('nst train on Ctrl-C', () => {
  it('finishes the step, writes a checkpoint and the model, and --resume continues from there', async () => {
    const setup = await tinySetup('sigint');
    const out = join(setup.root, 'run');
    const args = ['trainer/bin/nst.mjs', 'train', '--style', setup.style, '--content', setup.photos, '--vgg', setup.vgg, '--out', out,
      '--arch', 'slim', '--size', '32', '--batch', '1', '--steps', '500', '--checkpoint-every', '1h', '--preview-every', '0', '--backend', 'wasm'];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const logPath = join(out, 'train-log.jsonl');
    const deadline = Date.now() + 120_000;
    while (!(existsSync(logPath) && (await readFile(logPath, 'utf8')).split('\n').length > 3)) {
      if (Date.now() > deadline || child.exitCode !== null) assert.fail(`no training steps logged: ${stderr}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 130, `a script sees the run was interrupted, not done: ${stderr}`);
    assert.match(stderr, /Stopped at step \d+ with a checkpoint; continue with the same command plus --resume/);
    assert.match(stderr, /nst: interrupted by SIGINT/);
    const saved = await readCheckpoint(join(out, CHECKPOINT_FILE));
    const logged = (await readFile(logPath, 'utf8')).trim().split('\n').length;
    assert.equal(saved.header.step, logged, 'the checkpoint holds every logged step');
    assert.ok(existsSync(join(out, 'model.json')));

    const resumed = spawnSync(process.execPath, [...args.map((a) => (a === '500' ? String(saved.header.step + 1) : a)), '--resume'], { encoding: 'utf8' });
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stderr, new RegExp(`resuming at step ${saved.header.step}`));
    assert.equal((await readCheckpoint(join(out, CHECKPOINT_FILE))).header.step, saved.header.step + 1);
  });
});
