/**
 * The training loop of `nst train`: a TransformerNet trained with the perceptual loss on random
 * crops of a photo folder, on the current tfjs backend. Writes into the output directory:
 *
 * - `model.json` + shards: the exported model (at every checkpoint and at the end): the last
 *   step's weights, or with `averageSteps` their average over the last steps (weight-average.ts),
 * - `checkpoint.nst`: everything needed to resume exactly (see checkpoint.ts),
 * - `train-log.jsonl`: one JSON object per step,
 * - `loss-curve.svg`: kept up to date,
 * - `previews/`: the preview photos (`photos.png`) and the network's output on them every N steps.
 */
import * as tf from '@tensorflow/tfjs-core';
import './register-gradients.js';
import sharp from 'sharp';
import { appendFile, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import {
  ARCHITECTURE_PRESETS,
  encodeStyleModel,
  initialTransformerWeights,
  sameArchitecture,
  transformerForward,
  transformerWeightSpecs,
  type ArchitecturePresetName,
  type WeightStorage,
} from 'nst-video/model';
import { readStyleModelFromDisk, writeFileAtomically, writeStyleModel } from '../model-files.js';
import { nativeBfloat16, setConvolutionPrecision, type ConvolutionPrecision } from '../kernels/native-kernels.js';
import { registerWasmKernels } from '../kernels/wasm-kernels.js';
import { wasmThreadsInUse } from '../wasm-threads.js';
import { GENERATED_BY } from '../version.js';
import { Adam } from './adam.js';
import { CHECKPOINT_FILE, readCheckpoint, writeCheckpoint, type Checkpoint, type CpuTime } from './checkpoint.js';
import { ContentFeatureCache } from './content-feature-cache.js';
import { autoContentWeight, type AutoContentWeight, type ContentWeightSetting } from './content-weight.js';
import { listImages, loadSquareCrop, loadStyleImage, styleImageSize, TrainingData, type Batch, type CropMode, type DataState } from './dataset.js';
import { DEFAULT_CONTENT_CACHE_MIB, DEFAULT_CROP, DEFAULT_CROP_ZOOM, DEFAULT_PRECISION, TRAINING_PRECISIONS, WASM_MICRO_BATCH_PIXELS, type TrainingPrecision, type VggTap } from './defaults.js';
import { lossCurveSvg, type LossPoint } from './loss-curve.js';
import { contentTargets, perceptualLoss, styleTargets, sumOf } from './losses.js';
import { ProgressReporter } from './progress.js';
import { VggFeatures } from './vgg.js';
import { WeightAverage } from './weight-average.js';
import { cannotWiden, widenTransformerWeights } from './widen-network.js';

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
  /** Learning rate at the last step: it falls from `lr` along a half cosine over the run's steps; default `lr` (constant). */
  lrFinal?: number;
  /** Export (and preview) the average of the weights over about this many last steps (weight-average.ts); 0: the last step's. */
  averageSteps?: number;
  /** A number, or `auto`: in proportion to the painting's style loss on photos (content-weight.ts). */
  contentWeight: ContentWeightSetting;
  styleWeight: number;
  tvWeight: number;
  contentLayer: VggTap;
  styleLayers: VggTap[];
  /** Short side of the style image in pixels; default: `size`. Or give its long side. */
  styleSize?: number;
  styleLongSide?: number;
  seed: number;
  /** How photos are cut to squares; default DEFAULT_CROP. `center` lets the content features be kept (see contentCache). */
  crop?: CropMode;
  /** Random crops zoom in by up to this factor (CropSettings); default DEFAULT_CROP_ZOOM, 1: never. */
  cropZoom?: number;
  /** Memory for the photos' content features with `crop: 'center'`, in MiB; default DEFAULT_CONTENT_CACHE_MIB, 0 keeps none. */
  contentCache?: number;
  /** Checkpoint every this many steps and/or seconds (whichever comes first). */
  checkpointEvery: { steps?: number; seconds?: number };
  resume: boolean;
  /** A trained model (directory or model.json) whose weights a new run starts from; default: random. */
  init?: string;
  previewEvery: number;
  previewImages?: string;
  /** Images per forward/backward pass; gradients are summed over a batch. Default: by backend. */
  microBatch?: number;
  /** What the convolutions compute in (defaults.ts TRAINING_PRECISIONS); default DEFAULT_PRECISION. Not a setting of the weights: a resume may change it. */
  precision?: TrainingPrecision;
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
  /** CPU seconds of the steps (all threads) since step `fromStep` (see CheckpointHeader.cpu). */
  cpu: CpuTime;
  /** Mean of the weighted loss terms over the last (up to) 20 steps. */
  finalLosses: Omit<LossPoint, 'step'>;
  modelDirectory: string;
  /** Photos whose content features came from memory instead of a VGG pass, in this process (--crop center). */
  contentFeaturesReused: number;
}

/** One JSON object per step, in the output directory. */
export const TRAIN_LOG_FILE = 'train-log.jsonl';

/** Thrown when a loss or gradient is NaN or infinite. */
export class NonFiniteLossError extends Error {}

/** The settings that decide the trained weights; a resume must keep them. */
const DEFINING_OPTIONS = [
  'arch', 'size', 'batch', 'lr', 'lrFinal', 'averageSteps', 'contentWeight', 'styleWeight', 'tvWeight', 'contentLayer', 'styleLayers', 'styleSize', 'styleLongSide', 'seed', 'microBatch', 'crop', 'cropZoom',
] as const;

/** Previews are at twice the crop size (capped at 256 px): how the model does on larger pictures. */
const MAX_PREVIEW_SIZE = 256;
const PREVIEW_COUNT = 4;
/** The previews' file names: step-000100.png. */
const stepPreviewName = (step: number): string => `step-${String(step).padStart(6, '0')}.png`;
const STEP_PREVIEW = /^step-\d{6,}\.png$/;
const CURVE_EVERY_STEPS = 10;

/** `precision` on `backend`: auto is bfloat16 where the native convolutions have it (nativeBfloat16), float32 elsewhere. */
function convolutionPrecision(requested: TrainingPrecision, backend: string): ConvolutionPrecision {
  if (!TRAINING_PRECISIONS.includes(requested)) throw new Error(`--precision must be one of ${TRAINING_PRECISIONS.join(', ')}; got "${requested}".`);
  if (requested === 'float32') return 'float32';
  const bfloat16 = backend === 'wasm' ? nativeBfloat16() : { available: false, reason: `the ${backend} backend computes in float32` };
  if (requested === 'bfloat16' && !bfloat16.available) throw new Error(`--precision bfloat16 cannot be had here: ${bfloat16.reason}. Use --precision float32 or auto.`);
  return bfloat16.available ? 'bfloat16' : 'float32';
}

export function defaultMicroBatch(backend: string, size: number, batch: number): number {
  if (backend !== 'wasm') return batch;
  return Math.max(1, Math.min(batch, Math.floor(WASM_MICRO_BATCH_PIXELS / (size * size))));
}

/**
 * Trains (or, with `resume`, continues) a style model: set-up in a TrainingSession, then a loop of
 * step, progress, and the cadence of previews, loss curve and checkpoints, until the last step or
 * a stop request (`signal`, after the current step, with a checkpoint).
 */
export async function train(input: TrainOptions): Promise<TrainResult> {
  const session = await TrainingSession.open(input);
  const { options } = session;
  const rate = new StepRate();
  let next = session.finished ? undefined : session.data.nextBatch(options.batch);
  setConvolutionPrecision(options.precision);
  try {
    while (!session.finished) {
      const batch = await next!;
      next = session.step + 1 < session.totalSteps ? session.data.nextBatch(options.batch) : undefined;
      const point = await session.trainStep(batch);
      session.progress.update({ ...point, loss: point.total, step: session.step, totalSteps: session.totalSteps, epoch: session.data.epochProgress, ...rate.add(point.seconds, options.batch) });
      if (options.previewEvery > 0 && session.step % options.previewEvery === 0) await session.writePreview();
      if (session.step % CURVE_EVERY_STEPS === 0) await session.writeLossCurve();
      const stopping = Boolean(options.signal?.aborted) && !session.finished;
      if (session.finished || stopping || session.checkpointDue()) await session.saveCheckpoint();
      if (stopping) {
        session.log(`Stopped at step ${session.step} with a checkpoint; continue with the same command plus --resume.`);
        break;
      }
    }
    if (session.finished) await session.finish();
  } finally {
    await next?.catch(() => undefined);
    setConvolutionPrecision('float32');
    session.dispose();
  }
  return session.result();
}

/** Steps per second over the recent steps (the first step is slow: kernels warm up). */
class StepRate {
  private _steps = 0;
  private _seconds = 0;

  add(seconds: number, batch: number): { stepsPerSecond: number; imagesPerSecond: number } {
    this._steps = this._steps * 0.9 + 1;
    this._seconds = this._seconds * 0.9 + seconds;
    const stepsPerSecond = this._steps / this._seconds;
    return { stepsPerSecond, imagesPerSecond: stepsPerSecond * batch };
  }
}

/** A step's losses and how long it took. */
type StepPoint = LossPoint & { seconds: number };

/**
 * Everything a run holds: its settings (after a resume, the checkpoint's), the loss network and
 * the style's Gram matrices, the transformer's variables and Adam, the data order, the loss
 * history and the previews; and what it writes into the output folder.
 */
class TrainingSession {
  step: number;
  trainingSeconds: number;
  readonly cpu: CpuTime;
  private _lastCheckpoint: { step: number; time: number };
  private _dataState: DataState;

  private constructor(
    readonly options: ResolvedTrainOptions,
    readonly progress: ProgressReporter,
    readonly log: (message: string) => void,
    readonly totalSteps: number,
    readonly data: TrainingData,
    private readonly _checkpoint: Checkpoint | undefined,
    private readonly _files: readonly string[],
    private readonly _vgg: VggFeatures,
    private readonly _styleGrams: tf.Tensor3D[],
    private readonly _variables: Map<string, tf.Variable>,
    private readonly _adam: Adam,
    private readonly _average: WeightAverage | undefined,
    private readonly _history: LossPoint[],
    private readonly _previews: { pixels: Float32Array; count: number; size: number },
    private readonly _contentCache: ContentFeatureCache | undefined,
  ) {
    this.step = _checkpoint?.header.step ?? 0;
    this.trainingSeconds = _checkpoint?.header.trainingSeconds ?? 0;
    this.cpu = { ..._checkpoint?.header.cpu ?? { seconds: 0, fromStep: this.step } };
    this._lastCheckpoint = { step: this.step, time: Date.now() };
    this._dataState = _checkpoint?.header.data ?? data.state;
  }

  static async open(input: TrainOptions): Promise<TrainingSession> {
    // wasm has no Conv2DBackpropFilter (kernels/wasm-kernels.ts); selectNodeBackend registers
    // it, and so does this for callers that set the backend themselves.
    if (tf.getBackend() === 'wasm') registerWasmKernels(wasmThreadsInUse());
    const progress = input.progress ?? new ProgressReporter();
    const log = input.log ?? ((message: string) => progress.message(message));
    const out = resolve(input.out);
    const prepared: PreparedTrainOptions = {
      ...input,
      out,
      crop: input.crop ?? DEFAULT_CROP,
      cropZoom: input.cropZoom ?? DEFAULT_CROP_ZOOM,
      microBatch: input.microBatch ?? defaultMicroBatch(input.backend, input.size, input.batch),
      precision: convolutionPrecision(input.precision ?? DEFAULT_PRECISION, input.backend),
    };
    if (prepared.styleLongSide === undefined) prepared.styleSize ??= prepared.size;
    const checkpoint = prepared.resume ? await readCheckpoint(join(out, CHECKPOINT_FILE)) : undefined;
    if (checkpoint) adoptCheckpointConfig(prepared, checkpoint.header.config, log);
    validate(prepared);

    const files = await listImages(prepared.content);
    const stepsPerEpoch = Math.ceil(files.length / prepared.batch);
    const totalSteps = prepared.steps ?? prepared.epochs * stepsPerEpoch;
    const vgg = await VggFeatures.load(prepared.vgg);
    const styleImage = await loadStyleImage(prepared.style, styleImageSize(prepared));
    const styleGrams = styleTargets(vgg, styleImage, prepared.styleLayers);
    styleImage.dispose();
    const options = await resolveContentWeight(prepared, checkpoint, vgg, styleGrams, files, log);
    const variables = transformerVariables(options.arch, checkpoint?.weights ?? (await startingWeights(options)));
    const adam = new Adam(options.lr);
    if (checkpoint) adam.loadState(checkpoint.adam, variables);
    const average = options.averageSteps ? new WeightAverage(options.averageSteps, variables, checkpoint?.average) : undefined;
    // A run resumed with averaging it did not have: the average starts now.
    if (average && checkpoint && !checkpoint.average) log(`The weights are averaged from step ${checkpoint.header.step} on (the checkpoint kept no average).`);
    const data = new TrainingData(options.content, files, options.size, options.seed ^ 0x5eed, log, checkpoint?.header.data, { mode: options.crop, maxZoom: options.cropZoom });
    const cacheMiB = options.contentCache ?? DEFAULT_CONTENT_CACHE_MIB;
    const contentCache = options.crop === 'center' && cacheMiB > 0 ? new ContentFeatureCache(cacheMiB * 2 ** 20) : undefined;
    const history = await readHistory(join(out, TRAIN_LOG_FILE), checkpoint?.header.step ?? 0);
    const previewSize = Math.min(MAX_PREVIEW_SIZE, 2 * options.size);
    const previews = { ...(await loadPreviews(previewSize, options.previewImages ?? options.content, options.previewImages ? await listImages(options.previewImages) : files)), size: previewSize };

    // Only now that every input has loaded: a run that fails to start leaves --out as it was.
    await mkdir(join(out, 'previews'), { recursive: true });
    await writeFileAtomically(join(out, TRAIN_LOG_FILE), history.map((p) => JSON.stringify(p) + '\n').join(''));
    if (!checkpoint) {
      // A new run (over an old one only with --force): the old run's previews would pass for this one's.
      await removeStepPreviews(join(out, 'previews'));
      await writePngStrip(join(out, 'previews', 'photos.png'), previews.pixels, previews.count, previewSize);
    }
    log(
      `Training a ${options.arch} network on ${files.length} photos from ${options.content} at ${options.size} px, batch ${options.batch} ` +
        `(micro-batch ${options.microBatch}), ${options.crop} crops${options.cropZoom > 1 ? ` zoomed in up to ${options.cropZoom}x` : ''}, ${totalSteps} steps (${(totalSteps / stepsPerEpoch).toFixed(2)} epochs), on ${options.backend}, ` +
        `convolutions in ${options.precision === 'bfloat16' ? 'bfloat16 (mixed precision)' : 'float32'}` +
        (contentCache ? `; the photos' content features are kept in memory (up to ${cacheMiB} MiB)` : '') +
        (checkpoint ? `; resuming at step ${checkpoint.header.step}.` : '.'),
    );
    return new TrainingSession(options, progress, log, totalSteps, data, checkpoint, files, vgg, styleGrams, variables, adam, average, history, previews, contentCache);
  }

  get finished(): boolean {
    return this.step >= this.totalSteps;
  }

  /** One optimizer step on `batch`, gradients summed over micro-batches; logs and returns its losses. */
  async trainStep(batch: Batch): Promise<StepPoint> {
    const started = performance.now();
    const cpuStarted = process.cpuUsage();
    const { total, content, style, tv, gradients } = await this._gradients(batch);
    const squaredNorm = tf.tidy(() => sumOf([...gradients.values()].map((g) => tf.sum(tf.square(g)) as tf.Scalar)));
    const gradSquares = (await squaredNorm.data())[0];
    squaredNorm.dispose();
    if (![total, content, style, tv, gradSquares].every(Number.isFinite)) {
      tf.dispose([...gradients.values()]);
      throw new NonFiniteLossError(
        `Step ${this.step + 1}: the loss or its gradient is not finite (total ${total}, content ${content}, style ${style}, tv ${tv}, ` +
          `squared gradient norm ${gradSquares}). The weights were not updated; the last good checkpoint ` +
          `(step ${this._lastCheckpoint.step}) is kept in ${join(this.options.out, CHECKPOINT_FILE)}. Lower --lr or the loss weights and run with --resume.`,
      );
    }
    this._adam.learningRate = learningRateAt(this.step, this.totalSteps, this.options.lr, this.options.lrFinal);
    this._adam.apply(this._variables, gradients);
    tf.dispose([...gradients.values()]);
    this._average?.update(this._variables);
    const seconds = (performance.now() - started) / 1000;
    const cpuUsed = process.cpuUsage(cpuStarted);
    const cpuSeconds = (cpuUsed.user + cpuUsed.system) / 1e6;
    this.step++;
    this.trainingSeconds += seconds;
    this.cpu.seconds += cpuSeconds;
    this._dataState = batch.stateAfter;
    const point = { step: this.step, total, content, style, tv };
    this._history.push(point);
    await appendFile(
      join(this.options.out, TRAIN_LOG_FILE),
      JSON.stringify({ ...point, epoch: Number(this.data.epochProgress.toFixed(4)), lr: this._adam.learningRate, seconds: Number(seconds.toFixed(3)), cpuSeconds: Number(cpuSeconds.toFixed(3)), trainingSeconds: Number(this.trainingSeconds.toFixed(1)) }) + '\n',
    );
    return { ...point, seconds };
  }

  /** The batch's mean loss terms and the gradient of the total, accumulated micro-batch by micro-batch. */
  private async _gradients(batch: Batch): Promise<Omit<LossPoint, 'step'> & { gradients: Map<string, tf.Tensor> }> {
    const { size, microBatch } = this.options;
    const arch = ARCHITECTURE_PRESETS[this.options.arch];
    const varList = [...this._variables.values()];
    let sums: tf.Tensor[] | undefined;
    let terms: tf.Tensor[] = [];
    const pixelsPerImage = size * size * 3;
    for (let start = 0; start < batch.count; start += microBatch) {
      const count = Math.min(microBatch, batch.count - start);
      const fraction = count / batch.count;
      const contents = tf.tensor4d(batch.pixels.subarray(start * pixelsPerImage, (start + count) * pixelsPerImage), [count, size, size, 3]);
      const target = await this._contentTargets(contents, batch.files.slice(start, start + count));
      let kept: tf.Scalar[] = [];
      const { value, grads } = tf.variableGrads(() => {
        const outputs = transformerForward(this._variables, arch, contents);
        const loss = perceptualLoss(this._vgg, this.options, this._styleGrams, target, outputs);
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
        sums = sums.map((sum, i) => tf.add(sum, micro[i]));
        terms = terms.map((term, i) => tf.add(term, parts[i]));
        tf.dispose([...previous, ...micro, ...parts]);
      }
    }
    const stacked = tf.stack(terms);
    const [total, content, style, tv] = Array.from(await stacked.data());
    tf.dispose([stacked, ...terms]);
    return { total, content, style, tv, gradients: new Map([...this._variables.keys()].map((name, i) => [name, sums![i]])) };
  }

  /** The content layer's features of `contents` (the photos `files`), which --crop center lets the cache keep. */
  private _contentTargets(contents: tf.Tensor4D, files: readonly string[]): Promise<tf.Tensor4D> {
    const compute = () => contentTargets(this._vgg, this.options, contents);
    return this._contentCache ? this._contentCache.features(files, compute) : Promise.resolve(compute());
  }

  checkpointDue(): boolean {
    const every = this.options.checkpointEvery;
    return (
      (every.steps !== undefined && this.step - this._lastCheckpoint.step >= every.steps) ||
      (every.seconds !== undefined && Date.now() - this._lastCheckpoint.time >= every.seconds * 1000)
    );
  }

  /** The checkpoint, the exported model and the loss curve, from one read of the weights. */
  async saveCheckpoint(): Promise<void> {
    const weights = new Map<string, Float32Array>();
    for (const [name, variable] of this._variables) weights.set(name, (await variable.data()) as Float32Array);
    const average = await this._average?.saveState();
    const config = Object.fromEntries(DEFINING_OPTIONS.map((key) => [key, this.options[key]]));
    await writeCheckpoint(join(this.options.out, CHECKPOINT_FILE), {
      header: { formatVersion: 1, step: this.step, trainingSeconds: this.trainingSeconds, cpu: this.cpu, config, data: this._dataState, adamStep: this._adam.step, extra: { totalSteps: this.totalSteps, ...(this.options.contentWeightAuto && { contentWeightAuto: this.options.contentWeightAuto }) } },
      weights,
      adam: await this._adam.saveState(),
      ...(average && { average }),
    });
    await writeStyleModel(this.options.out, await this._encodeModel(average?.weights ?? weights));
    await this.writeLossCurve();
    this._lastCheckpoint = { step: this.step, time: Date.now() };
  }

  /** After the last step: its preview when off the preview cadence, and a checkpoint when a resume found the steps already done (e.g. --steps lowered to the current step). */
  async finish(): Promise<void> {
    if (this.options.previewEvery > 0 && this.step % this.options.previewEvery !== 0) await this.writePreview();
    if (this._history.length > 0 && this._checkpoint?.header.step === this.step) await this.saveCheckpoint();
  }

  async writeLossCurve(): Promise<void> {
    const { arch, size, batch, style } = this.options;
    const title = `${basename(style, extname(style))}, ${arch}, ${size} px, batch ${batch}`;
    await writeFileAtomically(join(this.options.out, 'loss-curve.svg'), lossCurveSvg(this._history, title));
  }

  async writePreview(): Promise<void> {
    const { pixels, count, size } = this._previews;
    const one = size * size * 3;
    const all = new Float32Array(count * one);
    for (let i = 0; i < count; i++) {
      const result = tf.tidy(() =>
        transformerForward(this._exportedVariables, ARCHITECTURE_PRESETS[this.options.arch], tf.tensor4d(pixels.subarray(i * one, (i + 1) * one), [1, size, size, 3])),
      );
      all.set((await result.data()) as Float32Array, i * one);
      result.dispose();
    }
    await writePngStrip(join(this.options.out, 'previews', stepPreviewName(this.step)), all, count, size);
  }

  result(): TrainResult {
    return {
      steps: this.step,
      totalSteps: this.totalSteps,
      completed: this.finished,
      trainingSeconds: this.trainingSeconds,
      cpu: { ...this.cpu },
      finalLosses: recentMeanLosses(this._history),
      modelDirectory: this.options.out,
      contentFeaturesReused: this._contentCache?.reusedPhotos ?? 0,
    };
  }

  dispose(): void {
    for (const variable of this._variables.values()) variable.dispose();
    this._adam.dispose();
    this._average?.dispose();
    this._styleGrams.forEach((g) => g.dispose());
    this._vgg.dispose();
  }

  /** The weights the model is exported with (and the previews drawn with). */
  private get _exportedVariables(): ReadonlyMap<string, tf.Variable> {
    return this._average?.variables ?? this._variables;
  }

  private _encodeModel(weights: Map<string, Float32Array>) {
    const o = this.options;
    return encodeStyleModel({
      architecture: ARCHITECTURE_PRESETS[o.arch],
      weights,
      storage: o.storage,
      style: { name: basename(o.style, extname(o.style)), image: basename(o.style), size: o.styleSize, longSide: o.styleLongSide },
      training: {
        kind: 'nst-train',
        complete: this.finished,
        steps: this.step,
        totalSteps: this.totalSteps,
        epochs: Number(this.data.epochProgress.toFixed(3)),
        arch: o.arch,
        size: o.size,
        batch: o.batch,
        microBatch: o.microBatch,
        precision: o.precision,
        learningRate: o.lr,
        ...(o.lrFinal !== undefined && { learningRateFinal: o.lrFinal }),
        seed: o.seed,
        crop: o.crop,
        ...(o.cropZoom > 1 && { cropZoom: o.cropZoom }),
        ...(this._average && { averageSteps: this._average.steps, averagedUpdates: this._average.updates }),
        weights: { content: o.contentWeight, style: o.styleWeight, tv: o.tvWeight },
        ...(o.contentWeightAuto && { contentWeightAuto: { identityStyleLoss: Math.round(o.contentWeightAuto.identityStyleLoss), photos: o.contentWeightAuto.photos } }),
        layers: { content: o.contentLayer, style: o.styleLayers },
        losses: { lastSteps: Math.min(RECENT_STEPS, this._history.length), ...recentMeanLosses(this._history) },
        dataset: { photos: this._files.length, unreadable: this.data.unreadableCount },
        durationSeconds: Math.round(this.trainingSeconds),
        cpuSeconds: Math.round(this.cpu.seconds),
        ...(this.cpu.fromStep > 0 && { cpuSecondsFromStep: this.cpu.fromStep }),
        backend: o.backend,
        lossNetwork: 'VGG19 (Keras, caffe preprocessing)',
        command: o.command,
        ...(o.init && { initialisedFrom: o.init }),
      },
      generatedBy: GENERATED_BY,
    });
  }
}

/** TrainOptions with the output folder resolved and the crop mode and zoom, micro-batch and precision decided. */
type PreparedTrainOptions = TrainOptions & { out: string; crop: CropMode; cropZoom: number; microBatch: number; precision: ConvolutionPrecision };

/** ...and the content weight a number (with how `auto` chose it). */
type ResolvedTrainOptions = Omit<PreparedTrainOptions, 'contentWeight'> & { contentWeight: number; contentWeightAuto?: AutoContentWeight };

/**
 * Measures `--content-weight auto` for this painting on the first training photos. A resumed run
 * has the checkpoint's number by now, and the checkpoint keeps how auto chose it, for the record.
 */
async function resolveContentWeight(
  options: PreparedTrainOptions,
  checkpoint: Checkpoint | undefined,
  vgg: VggFeatures,
  styleGrams: readonly tf.Tensor3D[],
  files: readonly string[],
  log: (message: string) => void,
): Promise<ResolvedTrainOptions> {
  if (options.contentWeight !== 'auto') {
    const chosen = checkpoint?.header.extra.contentWeightAuto as AutoContentWeight | undefined;
    return { ...options, contentWeight: options.contentWeight, ...(chosen && { contentWeightAuto: chosen }) };
  }
  const auto = await autoContentWeight(vgg, options.styleLayers, styleGrams, options.content, files, options.size);
  log(`Content weight ${auto.weight} (auto: the painting's style loss on ${auto.photos} unchanged photos is ${Math.round(auto.identityStyleLoss)}).`);
  return { ...options, contentWeight: auto.weight, contentWeightAuto: auto };
}

/** How many of the last steps the reported losses average. */
const RECENT_STEPS = 20;

/** Mean of each loss term over the last RECENT_STEPS steps (NaN before the first step). */
export function recentMeanLosses(history: readonly LossPoint[]): Omit<LossPoint, 'step'> {
  const recent = history.slice(-RECENT_STEPS);
  const mean = (key: keyof LossPoint) => recent.reduce((sum, p) => sum + p[key], 0) / recent.length;
  return { total: mean('total'), content: mean('content'), style: mean('style'), tv: mean('tv') };
}

/**
 * A new run's first weights: random from --seed, or a trained model's (--init), which starts a new
 * style from one that already paints, instead of from noise. A narrower or shallower model is
 * grown into --arch first, painting the same pictures (see widen-network.ts).
 */
async function startingWeights(options: Pick<TrainOptions, 'arch' | 'seed' | 'init'>): Promise<ReadonlyMap<string, Float32Array>> {
  const architecture = ARCHITECTURE_PRESETS[options.arch];
  if (!options.init) return initialTransformerWeights(architecture, options.seed);
  const model = await readStyleModelFromDisk(options.init);
  if (sameArchitecture(model.architecture, architecture)) return model.weights;
  const reason = cannotWiden(model.architecture, architecture);
  if (reason) {
    throw new Error(
      `--init "${options.init}" cannot start an --arch ${options.arch} run: ${reason}. ` +
        `Pass the --arch it was trained with, or a larger one (a model grows, it does not shrink).`,
    );
  }
  return widenTransformerWeights(model.weights, model.architecture, architecture, options.seed);
}

/** The transformer's weights as trainable variables, checking each against the architecture. */
function transformerVariables(preset: ArchitecturePresetName, weights: ReadonlyMap<string, Float32Array>): Map<string, tf.Variable> {
  return new Map(
    transformerWeightSpecs(ARCHITECTURE_PRESETS[preset]).map((spec) => {
      const values = weights.get(spec.name);
      if (!values || values.length !== spec.shape.reduce((a, b) => a * b, 1)) {
        throw new Error(`The checkpoint has no usable weight "${spec.name}" for the ${preset} network.`);
      }
      return [spec.name, tf.variable(tf.tensor(values, [...spec.shape]), true)] as const;
    }),
  );
}

/** Deletes the `step-*.png` previews in `folder`. */
async function removeStepPreviews(folder: string): Promise<void> {
  for (const name of await readdir(folder)) if (STEP_PREVIEW.test(name)) await rm(join(folder, name), { force: true });
}

/** On --resume the checkpoint's settings win; a typed option that contradicts them is an error. */
function adoptCheckpointConfig(options: TrainOptions, saved: Record<string, unknown>, log: (m: string) => void): void {
  const target = options as unknown as Record<string, unknown>;
  for (const key of DEFINING_OPTIONS) {
    if (!(key in saved)) continue;
    const same = JSON.stringify(saved[key]) === JSON.stringify(target[key]);
    if (same) continue;
    // `auto` chose a number when the run started; the run keeps it.
    const autoChosen = key === 'contentWeight' && target[key] === 'auto';
    if (options.explicitOptions?.has(key) && !autoChosen) {
      throw new Error(
        `--${kebab(key)} is ${JSON.stringify(target[key])} but the checkpoint was trained with ${JSON.stringify(saved[key])}; ` +
          `drop the option to continue that training, or train into a new --out.`,
      );
    }
    if (key !== 'microBatch') log(`Using the checkpoint's --${kebab(key)} ${JSON.stringify(saved[key])}${autoChosen ? ' (auto chose it when the run started)' : ''}.`);
    target[key] = saved[key];
  }
}

/**
 * The rate of the update after `step` completed steps of `totalSteps`: `lr` at the start, falling
 * along a half cosine to `lrFinal` at the last step (constant without `lrFinal`). A lower rate at
 * the end takes out the noise a constant one leaves in the weights (measured: great_wave, slim,
 * 144 steps at 3e-4 after 605 at 1e-3 improved both losses, 10.1 -> 7.9 % style, 422k -> 405k content).
 * When a resume raises --steps, the rest of the curve stretches to the new end.
 */
export function learningRateAt(step: number, totalSteps: number, lr: number, lrFinal: number | undefined): number {
  if (lrFinal === undefined || totalSteps <= 1) return lr;
  const progress = Math.min(1, step / (totalSteps - 1));
  return lrFinal + (lr - lrFinal) * 0.5 * (1 + Math.cos(Math.PI * progress));
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function validate(options: PreparedTrainOptions): void {
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
  if (options.averageSteps !== undefined && !(Number.isInteger(options.averageSteps) && options.averageSteps >= 0)) throw new Error(`--average-steps must be a whole number >= 0, got ${options.averageSteps}.`);
  if (options.size % 4 !== 0 || options.size < 32) throw new Error(`--size must be a multiple of 4 and at least 32, got ${options.size}.`);
  if (!(options.lr > 0)) throw new Error(`--lr must be positive, got ${options.lr}.`);
  const weights = [['style-weight', options.styleWeight], ['tv-weight', options.tvWeight]] as [string, number][];
  if (options.contentWeight !== 'auto') weights.push(['content-weight', options.contentWeight]);
  for (const [name, value] of weights) {
    if (!(value >= 0) || !Number.isFinite(value)) throw new Error(`--${name} must be a non-negative number, got ${value}.`);
  }
  const zoom = options.cropZoom;
  if (!(zoom >= 1 && Number.isFinite(zoom))) throw new Error(`--crop-zoom must be a number of at least 1, got ${zoom}.`);
  if (zoom > 1 && options.crop === 'center') throw new Error('--crop-zoom zooms random crops: use it with --crop random (centre crops are the same every epoch).');
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
      pixels.set(await loadSquareCrop(join(directory, file), size), count * one);
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
