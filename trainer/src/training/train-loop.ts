/**
 * The training loop of `nst train`: a TransformerNet trained with the perceptual loss on random
 * crops of a photo folder, on the current tfjs backend. Writes into the output directory:
 *
 * - `model.json` + shards: the exported model (at every checkpoint and at the end),
 * - `checkpoint.nst`: everything needed to resume exactly (see checkpoint.ts),
 * - `train-log.jsonl`: one JSON object per step,
 * - `loss-curve.svg`: kept up to date,
 * - `previews/`: the preview photos (`photos.png`) and the network's output on them every N steps.
 */
import * as tf from '@tensorflow/tfjs-core';
import './register-gradients.js';
import sharp from 'sharp';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import {
  ARCHITECTURE_PRESETS,
  encodeStyleModel,
  initialTransformerWeights,
  transformerForward,
  transformerWeightSpecs,
  type ArchitecturePresetName,
  type WeightStorage,
} from 'nst-video/model';
import { writeFileAtomically, writeStyleModel } from '../model-files.js';
import { registerComposedConvGradients } from '../kernels/conv2d-gradients.js';
import { GENERATED_BY } from '../version.js';
import { Adam } from './adam.js';
import { CHECKPOINT_FILE, readCheckpoint, writeCheckpoint } from './checkpoint.js';
import { listImages, loadSquareCrop, loadStyleImage, styleImageSize, TrainingData, type Batch } from './dataset.js';
import { WASM_MICRO_BATCH_PIXELS, type VggTap } from './defaults.js';
import { lossCurveSvg, type LossPoint } from './loss-curve.js';
import { contentTargets, perceptualLoss, styleTargets, sumOf, type LossConfig } from './losses.js';
import { formatDuration, formatLoss, ProgressReporter } from './progress.js';
import { VggFeatures } from './vgg.js';

export interface TrainOptions {
  style: string;
  content: string;
  out: string;
  vgg: string;
  arch: ArchitecturePresetName;
  size: number;
  batch: number;
  /** Optimizer steps; when absent, `epochs` passes over the photos. */
  steps?: number;
  epochs: number;
  lr: number;
  contentWeight: number;
  styleWeight: number;
  tvWeight: number;
  contentLayer: VggTap;
  styleLayers: VggTap[];
  /** Short side of the style image in pixels; default: `size`. Or give its long side. */
  styleSize?: number;
  styleLongSide?: number;
  seed: number;
  /** Checkpoint every this many steps and/or seconds (whichever comes first). */
  checkpointEvery: { steps?: number; seconds?: number };
  resume: boolean;
  previewEvery: number;
  previewImages?: string;
  /** Images per forward/backward pass; gradients are summed over a batch. Default: by backend. */
  microBatch?: number;
  storage: WeightStorage;
  /** Name of the tfjs backend in use (recorded, and picks the micro-batch). */
  backend: string;
  /** The command line, for the model's record. */
  command: string;
  /** Options the user typed (others are defaults, which a resume may take from the checkpoint). */
  explicitOptions?: ReadonlySet<string>;
  /** Stops after the current step, with a checkpoint (Ctrl-C). */
  signal?: AbortSignal;
  progress?: ProgressReporter;
  /** Messages for the user; default: the progress reporter. */
  log?: (message: string) => void;
}

export interface TrainResult {
  steps: number;
  totalSteps: number;
  completed: boolean;
  trainingSeconds: number;
  /** Mean of the weighted loss terms over the last (up to) 20 steps. */
  finalLosses: Omit<LossPoint, 'step'>;
  modelDirectory: string;
}

/** One JSON object per step, in the output directory. */
export const TRAIN_LOG_FILE = 'train-log.jsonl';

/** Thrown when a loss or gradient is NaN or infinite. */
export class NonFiniteLossError extends Error {}

/** The settings that decide the trained weights; a resume must keep them. */
const DEFINING_OPTIONS = [
  'arch', 'size', 'batch', 'lr', 'contentWeight', 'styleWeight', 'tvWeight', 'contentLayer', 'styleLayers', 'styleSize', 'styleLongSide', 'seed', 'microBatch',
] as const;

/** Previews are at twice the crop size (capped at 256 px): how the model does on larger pictures. */
const MAX_PREVIEW_SIZE = 256;
const PREVIEW_COUNT = 4;
const CURVE_EVERY_STEPS = 10;

export function defaultMicroBatch(backend: string, size: number, batch: number): number {
  if (backend !== 'wasm') return batch;
  return Math.max(1, Math.min(batch, Math.floor(WASM_MICRO_BATCH_PIXELS / (size * size))));
}

export async function train(input: TrainOptions): Promise<TrainResult> {
  // wasm has no Conv2DBackpropFilter and a slow Conv2DBackpropInput (kernels/conv2d-gradients.ts).
  if (tf.getBackend() === 'wasm') registerComposedConvGradients('wasm');
  const progress = input.progress ?? new ProgressReporter();
  const log = input.log ?? ((message: string) => progress.message(message));
  const out = resolve(input.out);
  const checkpointPath = join(out, CHECKPOINT_FILE);
  const logPath = join(out, TRAIN_LOG_FILE);

  const options = { ...input, microBatch: input.microBatch ?? defaultMicroBatch(input.backend, input.size, input.batch) };
  if (options.styleLongSide === undefined) options.styleSize ??= options.size;
  const checkpoint = options.resume ? await readCheckpoint(checkpointPath) : undefined;
  if (checkpoint) adoptCheckpointConfig(options, checkpoint.header.config, log);
  validate(options);
  const config = Object.fromEntries(DEFINING_OPTIONS.map((key) => [key, options[key]]));

  const files = await listImages(options.content);
  const arch = ARCHITECTURE_PRESETS[options.arch];
  const lossConfig: LossConfig = options;
  const stepsPerEpoch = Math.ceil(files.length / options.batch);
  const totalSteps = options.steps ?? options.epochs * stepsPerEpoch;

  const vgg = await VggFeatures.load(options.vgg);
  const styleImage = await loadStyleImage(options.style, styleImageSize(options));
  const styleGrams = styleTargets(vgg, styleImage, options.styleLayers);
  styleImage.dispose();

  const specs = transformerWeightSpecs(arch);
  const initial = checkpoint?.weights ?? initialTransformerWeights(arch, options.seed);
  const variables = new Map(
    specs.map((spec) => {
      const values = initial.get(spec.name);
      if (!values || values.length !== spec.shape.reduce((a, b) => a * b, 1)) {
        throw new Error(`The checkpoint has no usable weight "${spec.name}" for the ${options.arch} network.`);
      }
      return [spec.name, tf.variable(tf.tensor(values, [...spec.shape]), true)] as const;
    }),
  );
  const adam = new Adam(options.lr);
  if (checkpoint) adam.loadState(checkpoint.adam, variables);
  const data = new TrainingData(options.content, files, options.size, options.seed ^ 0x5eed, log, checkpoint?.header.data);

  let step = checkpoint?.header.step ?? 0;
  let trainingSeconds = checkpoint?.header.trainingSeconds ?? 0;
  const history = await readHistory(logPath, step);

  const previewSize = Math.min(MAX_PREVIEW_SIZE, 2 * options.size);
  const previews = await loadPreviews(previewSize, options.previewImages ?? options.content, options.previewImages ? await listImages(options.previewImages) : files);
  // Only now that every input has loaded: a run that fails to start leaves --out as it was.
  await mkdir(join(out, 'previews'), { recursive: true });
  await writeFileAtomically(logPath, history.map((p) => JSON.stringify(p) + '\n').join(''));
  const styleName = basename(options.style, extname(options.style));
  const curveTitle = `${styleName}, ${options.arch}, ${options.size} px, batch ${options.batch}`;
  if (!checkpoint) await writePngStrip(join(out, 'previews', 'photos.png'), previews.pixels, previews.count, previewSize);

  log(
    `Training a ${options.arch} network on ${files.length} photos from ${options.content} at ${options.size} px, batch ${options.batch} ` +
      `(micro-batch ${options.microBatch}), ${totalSteps} steps (${(totalSteps / stepsPerEpoch).toFixed(2)} epochs), on ${options.backend}` +
      (checkpoint ? `; resuming at step ${step}.` : '.'),
  );

  const exportModel = async (complete: boolean) => {
    const weights = new Map<string, Float32Array>();
    for (const [name, variable] of variables) weights.set(name, (await variable.data()) as Float32Array);
    const recent = history.slice(-20);
    const mean = (key: keyof LossPoint) => (recent.length ? recent.reduce((s, p) => s + p[key], 0) / recent.length : NaN);
    const encoded = await encodeStyleModel({
      architecture: arch,
      weights,
      storage: options.storage,
      style: { name: styleName, image: basename(options.style), size: options.styleSize, longSide: options.styleLongSide },
      training: {
        kind: 'nst-train',
        complete,
        steps: step,
        totalSteps,
        epochs: Number(data.epochProgress.toFixed(3)),
        arch: options.arch,
        size: options.size,
        batch: options.batch,
        microBatch: options.microBatch,
        learningRate: options.lr,
        seed: options.seed,
        weights: { content: options.contentWeight, style: options.styleWeight, tv: options.tvWeight },
        layers: { content: options.contentLayer, style: options.styleLayers },
        losses: { lastSteps: recent.length, total: mean('total'), content: mean('content'), style: mean('style'), tv: mean('tv') },
        dataset: { photos: files.length, unreadable: data.unreadableCount },
        durationSeconds: Math.round(trainingSeconds),
        backend: options.backend,
        lossNetwork: 'VGG19 (Keras, caffe preprocessing)',
        command: options.command,
      },
      generatedBy: GENERATED_BY,
    });
    await writeStyleModel(out, encoded);
  };

  let lastDataState = checkpoint?.header.data ?? data.state;
  const saveCheckpoint = async () => {
    const weights = new Map<string, Float32Array>();
    for (const [name, variable] of variables) weights.set(name, (await variable.data()) as Float32Array);
    await writeCheckpoint(checkpointPath, {
      header: { formatVersion: 1, step, trainingSeconds, config, data: lastDataState, adamStep: adam.step, extra: { totalSteps } },
      weights,
      adam: await adam.saveState(),
    });
    await exportModel(step >= totalSteps);
    await writeFileAtomically(join(out, 'loss-curve.svg'), lossCurveSvg(history, curveTitle));
  };

  const writePreview = async () => {
    const outputs: Float32Array[] = [];
    for (let i = 0; i < previews.count; i++) {
      const one = previewSize * previewSize * 3;
      const result = tf.tidy(() =>
        transformerForward(variables, arch, tf.tensor4d(previews.pixels.subarray(i * one, (i + 1) * one), [1, previewSize, previewSize, 3])),
      );
      outputs.push((await result.data()) as Float32Array);
      result.dispose();
    }
    const all = new Float32Array(outputs.reduce((n, o) => n + o.length, 0));
    outputs.reduce((offset, o) => (all.set(o, offset), offset + o.length), 0);
    await writePngStrip(join(out, 'previews', `step-${String(step).padStart(6, '0')}.png`), all, previews.count, previewSize);
  };

  let lastCheckpointTime = Date.now();
  let lastCheckpointStep = step;
  let next: Promise<Batch> | undefined = step < totalSteps ? data.nextBatch(options.batch) : undefined;
  const rate = { steps: 0, seconds: 0 };
  try {
    while (step < totalSteps) {
      const batch = await next!;
      next = step + 1 < totalSteps ? data.nextBatch(options.batch) : undefined;
      const started = performance.now();
      const point = await trainStep(batch, options.microBatch, options.size);
      const seconds = (performance.now() - started) / 1000;
      trainingSeconds += seconds;
      step++;
      lastDataState = batch.stateAfter;
      history.push(point);
      await appendFile(logPath, JSON.stringify({ ...point, epoch: Number(data.epochProgress.toFixed(4)), seconds: Number(seconds.toFixed(3)), trainingSeconds: Number(trainingSeconds.toFixed(1)) }) + '\n');
      // Rate over the recent steps (the first step is slow: kernels warm up).
      rate.steps = rate.steps * 0.9 + 1;
      rate.seconds = rate.seconds * 0.9 + seconds;
      const stepsPerSecond = rate.steps / rate.seconds;
      progress.update({ step, totalSteps, epoch: data.epochProgress, loss: point.total, content: point.content, style: point.style, tv: point.tv, stepsPerSecond, imagesPerSecond: stepsPerSecond * options.batch });
      if (options.previewEvery > 0 && step % options.previewEvery === 0) await writePreview();
      if (step % CURVE_EVERY_STEPS === 0) await writeFileAtomically(join(out, 'loss-curve.svg'), lossCurveSvg(history, curveTitle));
      const every = options.checkpointEvery;
      const due =
        (every.steps !== undefined && step - lastCheckpointStep >= every.steps) ||
        (every.seconds !== undefined && Date.now() - lastCheckpointTime >= every.seconds * 1000);
      if (due || options.signal?.aborted || step === totalSteps) {
        await saveCheckpoint();
        lastCheckpointTime = Date.now();
        lastCheckpointStep = step;
      }
      if (options.signal?.aborted && step < totalSteps) {
        log(`Stopped at step ${step} with a checkpoint; continue with the same command plus --resume.`);
        break;
      }
    }
    if (step >= totalSteps && options.previewEvery > 0 && step % options.previewEvery !== 0) await writePreview();
    // Also when a resume finds the steps already done (e.g. --steps lowered to the current step).
    if (step >= totalSteps && history.length > 0 && (lastCheckpointStep !== step || checkpoint?.header.step === step)) await saveCheckpoint();
  } finally {
    await next?.catch(() => undefined);
    for (const variable of variables.values()) variable.dispose();
    adam.dispose();
    styleGrams.forEach((g) => g.dispose());
    vgg.dispose();
  }
  const recent = history.slice(-20);
  const mean = (key: keyof LossPoint) => recent.reduce((s, p) => s + p[key], 0) / Math.max(1, recent.length);
  return {
    steps: step,
    totalSteps,
    completed: step >= totalSteps,
    trainingSeconds,
    finalLosses: { total: mean('total'), content: mean('content'), style: mean('style'), tv: mean('tv') },
    modelDirectory: out,
  };

  /** One optimizer step on `batch`, gradients summed over micro-batches. Returns the losses. */
  async function trainStep(batch: Batch, microBatch: number, size: number): Promise<LossPoint> {
    const names = [...variables.keys()];
    const varList = [...variables.values()];
    let sums: tf.Tensor[] | undefined;
    let terms: tf.Tensor[] = [];
    const pixelsPerImage = size * size * 3;
    for (let start = 0; start < batch.count; start += microBatch) {
      const count = Math.min(microBatch, batch.count - start);
      const fraction = count / batch.count;
      const contents = tf.tensor4d(batch.pixels.subarray(start * pixelsPerImage, (start + count) * pixelsPerImage), [count, size, size, 3]);
      const target = contentTargets(vgg, lossConfig, contents);
      let kept: tf.Scalar[] = [];
      const { value, grads } = tf.variableGrads(() => {
        const outputs = transformerForward(variables, arch, contents);
        const loss = perceptualLoss(vgg, lossConfig, styleGrams, target, outputs);
        kept = [loss.content, loss.style, loss.tv].map((t) => tf.keep(tf.mul(t, fraction) as tf.Scalar));
        return tf.mul(loss.total, fraction) as tf.Scalar;
      }, varList);
      contents.dispose();
      target.dispose();
      const parts = [value, ...kept];
      const micro = varList.map((v) => grads[v.name]);
      if (!sums) {
        sums = micro;
        terms = parts;
      } else {
        const previous = [...sums, ...terms];
        sums = sums.map((s, i) => tf.add(s, micro[i]));
        terms = terms.map((t, i) => tf.add(t, parts[i]));
        tf.dispose([...previous, ...micro, ...parts]);
      }
    }
    const gradients = new Map(names.map((name, i) => [name, sums![i]]));
    const summary = tf.tidy(() => tf.stack([...terms, sumOf(sums!.map((g) => tf.sum(tf.square(g)) as tf.Scalar))]));
    const [total, content, style, tv, gradSquares] = Array.from(await summary.data());
    summary.dispose();
    tf.dispose(terms);
    if (![total, content, style, tv, gradSquares].every(Number.isFinite)) {
      tf.dispose(sums!);
      throw new NonFiniteLossError(
        `Step ${step + 1}: the loss or its gradient is not finite (total ${total}, content ${content}, style ${style}, tv ${tv}, ` +
          `squared gradient norm ${gradSquares}). The weights were not updated; the last good checkpoint ` +
          `(step ${lastCheckpointStep}) is kept in ${checkpointPath}. Lower --lr or the loss weights and run with --resume.`,
      );
    }
    adam.apply(variables, gradients);
    tf.dispose(sums!);
    return { step: step + 1, total, content, style, tv };
  }
}

/** On --resume the checkpoint's settings win; a typed option that contradicts them is an error. */
function adoptCheckpointConfig(options: TrainOptions, saved: Record<string, unknown>, log: (m: string) => void): void {
  const target = options as unknown as Record<string, unknown>;
  for (const key of DEFINING_OPTIONS) {
    if (!(key in saved)) continue;
    const same = JSON.stringify(saved[key]) === JSON.stringify(target[key]);
    if (same) continue;
    if (options.explicitOptions?.has(key)) {
      throw new Error(
        `--${kebab(key)} is ${JSON.stringify(target[key])} but the checkpoint was trained with ${JSON.stringify(saved[key])}; ` +
          `drop the option to continue that training, or train into a new --out.`,
      );
    }
    if (key !== 'microBatch') log(`Using the checkpoint's --${kebab(key)} ${JSON.stringify(saved[key])}.`);
    target[key] = saved[key];
  }
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function validate(options: TrainOptions): void {
  const positiveInteger = (name: string, value: number | undefined) => {
    if (value !== undefined && !(Number.isInteger(value) && value > 0)) throw new Error(`--${name} must be a positive integer, got ${value}.`);
  };
  positiveInteger('size', options.size);
  positiveInteger('batch', options.batch);
  positiveInteger('steps', options.steps);
  positiveInteger('epochs', options.epochs);
  positiveInteger('style-size', options.styleSize);
  positiveInteger('style-long-side', options.styleLongSide);
  positiveInteger('micro-batch', options.microBatch);
  if (options.size % 4 !== 0 || options.size < 32) throw new Error(`--size must be a multiple of 4 and at least 32, got ${options.size}.`);
  if (!(options.lr > 0)) throw new Error(`--lr must be positive, got ${options.lr}.`);
  for (const [name, value] of [['content-weight', options.contentWeight], ['style-weight', options.styleWeight], ['tv-weight', options.tvWeight]] as const) {
    if (!(value >= 0) || !Number.isFinite(value)) throw new Error(`--${name} must be a non-negative number, got ${value}.`);
  }
  if (options.styleLayers.length === 0) throw new Error('--style-layers needs at least one VGG layer, e.g. relu1_1,relu2_1,relu3_1.');
}

async function loadPreviews(size: number, directory: string, files: readonly string[]): Promise<{ pixels: Float32Array; count: number }> {
  // Evenly spaced through the sorted list: folders sorted by class give varied previews.
  const chosen = Array.from(new Set(Array.from({ length: Math.min(PREVIEW_COUNT, files.length) }, (_, i) => files[Math.floor((i * files.length) / PREVIEW_COUNT)])));
  const one = size * size * 3;
  const pixels = new Float32Array(chosen.length * one);
  let count = 0;
  for (const file of chosen) {
    try {
      pixels.set(await loadSquareCrop(join(directory, file), size, 0.5, 0.5, false), count * one);
      count++;
    } catch {
      // An unreadable preview photo is reported by the data loader when it meets it; skip it here.
    }
  }
  return { pixels: pixels.subarray(0, count * one), count };
}

/** Writes `count` square RGB images (0..255 floats) side by side as one PNG. */
export async function writePngStrip(path: string, pixels: Float32Array, count: number, size: number): Promise<void> {
  if (count === 0) return;
  const width = size * count;
  const bytes = Buffer.alloc(width * size * 3);
  for (let i = 0; i < count; i++) {
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size * 3; x++) {
        const v = pixels[i * size * size * 3 + y * size * 3 + x];
        bytes[y * width * 3 + i * size * 3 + x] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
  }
  await writeFileAtomically(path, await sharp(bytes, { raw: { width, height: size, channels: 3 } }).png().toBuffer());
}

async function readHistory(logPath: string, upToStep: number): Promise<LossPoint[]> {
  if (upToStep === 0) return [];
  let text = '';
  try {
    text = await readFile(logPath, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as LossPoint & Record<string, unknown>)
    .filter((p) => p.step <= upToStep);
}

export { formatDuration, formatLoss };
