/**
 * Offline transcoding: a whole video file through the style network, every frame kept with its
 * timestamp and duration, the sound copied (or re-encoded to Opus where the container needs it).
 *
 * Built on mediabunny's `Conversion` with a per-frame `video.process` step rather than on
 * `Input`/`Output` directly: the conversion already pairs decoded frames with their timestamps,
 * copies or transcodes the audio track as the output container allows, keeps the tracks in step
 * (backpressure: at most a few decoded frames exist at once, never the whole file) and cancels
 * cleanly. What is ours is the frame step, which is the element's: the network
 * (`TfjsBridge.stylize`) and the shaders' NstStylizeChain (`NstGpuPresenter`), drawing into a
 * canvas that mediabunny turns into the output frame.
 */
import {
  ALL_FORMATS,
  BlobSource,
  BufferTarget,
  Conversion,
  ConversionCanceledError,
  Input,
  Mp4OutputFormat,
  Output,
  QUALITY_HIGH,
  UnsupportedInputFormatError,
  UrlSource,
  WebMOutputFormat,
  getFirstEncodableVideoCodec,
  type AudioCodec,
  type DiscardedTrack,
  type InputAudioTrack,
  type InputFormat,
  type InputVideoTrack,
  type VideoCodec,
  type VideoSample,
} from 'mediabunny';
import type { ColorMatchMode } from 'nst-video-shaders';
import { BrowserStyleModel, type StyleModelSource } from '../load-style-model.js';
import type { BackendOptions } from '../backend/select-backend.js';
import { queuedLoadStyleModel } from '../element/model-controller.js';
import { DEFAULT_COLOR_MATCH, DEFAULT_COLOR_MATCH_MODE, DEFAULT_INFERENCE_SIZE, DEFAULT_SMOOTHING, DEFAULT_STRENGTH } from '../element/nst-video-events.js';
import { TfjsBridge } from '../element/tfjs-bridge.js';

/** Output container. */
export type TranscodeFormat = 'mp4' | 'webm';

/** What `onProgress` is told after each frame. */
export interface TranscodeProgress {
  /** Frames written so far. */
  readonly frames: number;
  /** Frames in the input (its video packets). */
  readonly totalFrames: number;
  /** Frames per second since the first frame. */
  readonly fps: number;
  /** Seconds left at that rate. */
  readonly etaSeconds: number;
}

export interface TranscodeVideoOptions extends BackendOptions {
  /**
   * The style: the URL of model.json (or its folder), the model's files, or a loaded model (not
   * disposed here). Default: the package's default style, as `<nst-video>` without a `model`.
   */
  model?: StyleModelSource | BrowserStyleModel;
  /** Short side, in px, of the picture the network sees (the output keeps the input's resolution). Default 256. */
  inferenceSize?: number;
  /** 0..1: 0 writes the original frames, 1 the stylised ones. Default 1. */
  strength?: number;
  /** 0..1: weight of the previous output where the picture is still (temporal smoothing). Default 0.5. */
  smoothing?: number;
  /** 0..1: how far the colours are matched to the original's. Default 0. */
  colorMatch?: number;
  /** 'luminance' (keep the original's chroma, the default) or 'mean-variance'. */
  colorMatchMode?: ColorMatchMode;
  /** Output container; default the input's where this browser can encode into it, else the other one. */
  format?: TranscodeFormat;
  /** Output video codec; default the input's where this browser encodes it, else the first it can of H.264, VP9, AV1, VP8. */
  videoCodec?: VideoCodec;
  /** Video bits per second; default mediabunny's QUALITY_HIGH for the resolution. */
  videoBitrate?: number;
  /** Called after each frame. */
  onProgress?: (progress: TranscodeProgress) => void;
  /** Called after each frame with the canvas holding it (draw it elsewhere for a preview; do not keep it). */
  onFrame?: (canvas: HTMLCanvasElement) => void;
  /** Aborting it rejects with `NstTranscodeCanceledError` and frees every frame and GPU resource. */
  signal?: AbortSignal;
}

/**
 * Why a transcode failed:
 * - `not-media`: the input is not a media file mediabunny can read;
 * - `corrupt`: the container is damaged or truncated (frames are missing or cannot be read);
 * - `no-video-track`: the file has no video (sound only, say);
 * - `undecodable-codec`: this browser cannot decode the video codec;
 * - `no-frames`: the video track holds no frames;
 * - `model-load-failed`: the style model could not be loaded (its `cause` is the NstModelError);
 * - `no-encoder`: this browser can encode no codec for the chosen container;
 * - `audio-not-kept`: the sound could be neither copied into nor re-encoded for the container;
 * - `stylize-failed`: the network or the shaders failed on a frame (the GPU was lost, say).
 */
export type NstTranscodeErrorCode =
  | 'not-media'
  | 'corrupt'
  | 'no-video-track'
  | 'undecodable-codec'
  | 'no-frames'
  | 'model-load-failed'
  | 'no-encoder'
  | 'audio-not-kept'
  | 'stylize-failed';

/** A transcode that could not be done; nothing was produced. */
export class NstTranscodeError extends Error {
  override name = 'NstTranscodeError';
  constructor(
    readonly code: NstTranscodeErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The transcode was cancelled through its `signal`; nothing was produced. */
export class NstTranscodeCanceledError extends Error {
  override name = 'NstTranscodeCanceledError';
  constructor(options?: { cause?: unknown }) {
    super('The transcode was cancelled.', options);
  }
}

const FORMATS: readonly TranscodeFormat[] = ['mp4', 'webm'];
/** Codecs tried for the video, after the input's own. */
const VIDEO_CODECS: readonly VideoCodec[] = ['avc', 'vp9', 'av1', 'vp8'];
/** The sound is re-encoded to this where the container cannot hold the input's codec (Chromium encodes no AAC). */
const FALLBACK_AUDIO_CODEC: AudioCodec = 'opus';
/**
 * How far the last frame may end before the duration the container declares (seconds, beyond one
 * frame) before the file counts as truncated: containers round their durations.
 */
const TRUNCATION_SLACK_S = 0.1;

/**
 * Stylises every frame of a video file and resolves with the new file (same resolution, frames,
 * timestamps and sound), in the style of `options.model` or, without one, in the package's
 * default style. The frames go through the network at `inferenceSize` and through the
 * same temporal smoothing, colour matching and strength passes as `<nst-video>`; the smoothing
 * history starts afresh with each file.
 *
 * Rejects with `NstTranscodeError` (see its `code`) when the input or the model cannot be used,
 * with `NstTranscodeCanceledError` when `signal` aborts, and with a `TypeError` naming the option
 * for a bad option (before any work).
 */
export async function transcodeVideo(input: File | Blob | string | URL, options: TranscodeVideoOptions = {}): Promise<Blob> {
  const settings = checkOptions(input, options);
  const { signal } = options;
  throwIfAborted(signal);
  const resources = new TranscodeResources();
  try {
    const source = await openInput(input, resources);
    throwIfAborted(signal);
    const { container, codec: videoCodec } = await chooseOutput(source.video, source.format, options);
    throwIfAborted(signal);

    const model = await resolveModel(options, resources);
    throwIfAborted(signal);
    // A model the caller lent must not move onto the presenter's GL context, where it would die with it.
    const bridge = await TfjsBridge.create({ onLost: (error) => resources.fail(error), zeroCopy: resources.ownsModel });
    resources.bridge = bridge;
    bridge.presenter.setParameters(settings.chain);
    throwIfAborted(signal);

    const output = new Output({ format: outputFormat(container), target: new BufferTarget() });
    const counter = new FrameCounter(source.totalFrames, options.onProgress);
    const conversion = await Conversion.init({
      input: source.input,
      output,
      tracks: 'primary',
      showWarnings: false,
      video: {
        codec: videoCodec,
        bitrate: options.videoBitrate ?? QUALITY_HIGH,
        forceTranscode: true,
        process: (sample) =>
          resources.track(async () => {
            resources.throwIfFailed();
            const canvas = await stylizeSample(sample, model, bridge, settings.inferenceSize);
            counter.frameDone(sample);
            options.onFrame?.(canvas);
            return canvas;
          }),
      },
      audio: (track) => audioOptions(track, output),
    });
    checkDiscarded(conversion.discardedTracks, container);
    const cancel = () => void conversion.cancel();
    signal?.addEventListener('abort', cancel);
    try {
      await conversion.execute();
    } catch (error) {
      throwIfAborted(signal);
      resources.throwIfFailed();
      if (error instanceof ConversionCanceledError) throw new NstTranscodeCanceledError({ cause: error });
      throw new NstTranscodeError('corrupt', `The video could not be read to the end (${(error as Error).message}): the file is damaged or truncated.`, { cause: error });
    } finally {
      signal?.removeEventListener('abort', cancel);
      await resources.settled();
    }
    throwIfAborted(signal);
    resources.throwIfFailed();
    counter.checkComplete(source.declaredDuration);
    const buffer = output.target.buffer;
    if (!buffer) throw new NstTranscodeError('no-frames', 'The conversion wrote no data.');
    return new Blob([buffer], { type: await output.getMimeType() });
  } finally {
    await resources.dispose();
  }
}

interface CheckedSettings {
  inferenceSize: number;
  chain: { strength: number; smoothing: number; colorMatch: number; colorMatchMode: ColorMatchMode };
}

/** Every option checked before any work; the message names the option and what it accepts. */
function checkOptions(input: unknown, options: TranscodeVideoOptions): CheckedSettings {
  if (!(typeof input === 'string' || input instanceof URL || input instanceof Blob)) {
    throw new TypeError('input must be a File, a Blob or the URL of a video file.');
  }
  if (!options || typeof options !== 'object') throw new TypeError('options, when provided, must be an object.');
  if (options.model === null) throw new TypeError('options.model, when provided, must be the URL of model.json, the model\'s files or a loaded BrowserStyleModel; leave it out for the package\'s default style.');
  const unit = (name: keyof TranscodeVideoOptions, fallback: number) => {
    const value = options[name] ?? fallback;
    if (typeof value !== 'number' || !(value >= 0 && value <= 1)) throw new TypeError(`options.${name}, when provided, must be a number from 0 to 1; got ${String(value)}.`);
    return value;
  };
  const inferenceSize = options.inferenceSize ?? DEFAULT_INFERENCE_SIZE;
  if (!Number.isInteger(inferenceSize) || inferenceSize < 16) throw new TypeError(`options.inferenceSize, when provided, must be an integer of at least 16 (px); got ${String(inferenceSize)}.`);
  const colorMatchMode = options.colorMatchMode ?? DEFAULT_COLOR_MATCH_MODE;
  if (colorMatchMode !== 'luminance' && colorMatchMode !== 'mean-variance') throw new TypeError(`options.colorMatchMode, when provided, must be "luminance" or "mean-variance"; got ${JSON.stringify(colorMatchMode)}.`);
  if (options.format !== undefined && !FORMATS.includes(options.format)) throw new TypeError(`options.format, when provided, must be "mp4" or "webm"; got ${JSON.stringify(options.format)}.`);
  if (options.videoCodec !== undefined && !VIDEO_CODECS.includes(options.videoCodec)) throw new TypeError(`options.videoCodec, when provided, must be one of ${VIDEO_CODECS.join(', ')}; got ${JSON.stringify(options.videoCodec)}.`);
  if (options.videoBitrate !== undefined && !(Number.isInteger(options.videoBitrate) && options.videoBitrate > 0)) throw new TypeError(`options.videoBitrate, when provided, must be a positive integer (bits per second); got ${String(options.videoBitrate)}.`);
  for (const name of ['onProgress', 'onFrame'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function') throw new TypeError(`options.${name}, when provided, must be a function.`);
  }
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw new TypeError('options.signal, when provided, must be an AbortSignal.');
  return {
    inferenceSize,
    chain: { strength: unit('strength', DEFAULT_STRENGTH), smoothing: unit('smoothing', DEFAULT_SMOOTHING), colorMatch: unit('colorMatch', DEFAULT_COLOR_MATCH), colorMatchMode },
  };
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new NstTranscodeCanceledError({ cause: signal.reason });
}

interface OpenedInput {
  input: Input;
  format: InputFormat;
  video: InputVideoTrack;
  totalFrames: number;
  /** What the container says the file lasts, in seconds; null when it does not say. */
  declaredDuration: number | null;
}

/** Opens the file and checks that it has a decodable video track with frames. */
async function openInput(file: File | Blob | string | URL, resources: TranscodeResources): Promise<OpenedInput> {
  const input = new Input({ source: file instanceof Blob ? new BlobSource(file) : new UrlSource(file), formats: ALL_FORMATS });
  resources.input = input;
  const name = file instanceof File ? file.name : file instanceof Blob ? 'the file' : String(file);
  const Name = name.charAt(0).toUpperCase() + name.slice(1);
  let format: InputFormat;
  try {
    format = await input.getFormat();
  } catch (error) {
    if (error instanceof UnsupportedInputFormatError) throw new NstTranscodeError('not-media', `${Name} is not a video file this browser can read (not MP4, WebM, Matroska, QuickTime, Ogg...). Choose a video file.`, { cause: error });
    throw new NstTranscodeError('corrupt', `${Name} could not be read (${(error as Error).message}). Check the file or its URL.`, { cause: error });
  }
  try {
    const video = await input.getPrimaryVideoTrack();
    if (!video) {
      const tracks = (await input.getTracks()).length;
      // A container with no track at all has lost its index (an MP4 cut before its moov box).
      if (tracks === 0) throw new NstTranscodeError('corrupt', `${Name} is truncated or damaged: the ${format.name} file lists no tracks at all. Copy or download it again.`);
      throw new NstTranscodeError('no-video-track', `${Name} has no video track (a ${format.name} file with ${tracks} other track(s)). Choose a file with video.`);
    }
    if (!(await video.canDecode())) {
      throw new NstTranscodeError('undecodable-codec', `This browser cannot decode the video of ${name} (codec ${(await video.getCodecParameterString()) ?? (await video.getCodec()) ?? 'unknown'}). Convert it to H.264, VP9 or AV1 first.`);
    }
    const stats = await video.computePacketStats();
    const declaredDuration = await input.getDurationFromMetadata([video]).catch(() => null);
    if (stats.packetCount === 0) {
      if (declaredDuration) throw new NstTranscodeError('corrupt', `${Name} is truncated or damaged: it declares ${declaredDuration.toFixed(2)} s of video but holds no frame. Copy or download it again.`);
      throw new NstTranscodeError('no-frames', `The video track of ${name} holds no frames.`);
    }
    return { input, format, video, totalFrames: stats.packetCount, declaredDuration };
  } catch (error) {
    if (error instanceof NstTranscodeError) throw error;
    throw new NstTranscodeError('corrupt', `${Name} is damaged or truncated: its ${format.name} structure could not be read (${(error as Error).message}).`, { cause: error });
  }
}

/**
 * The container and video codec: those asked for, else the input's container (its own codec
 * first) where this browser can encode into it, else the other container.
 */
async function chooseOutput(video: InputVideoTrack, format: InputFormat, options: TranscodeVideoOptions): Promise<{ container: TranscodeFormat; codec: VideoCodec }> {
  const own: TranscodeFormat = /webm|matroska/i.test(format.mimeType) ? 'webm' : 'mp4';
  const containers = options.format ? [options.format] : [own, ...FORMATS.filter((other) => other !== own)];
  const ownCodec = await video.getCodec();
  const size = { width: await video.getDisplayWidth(), height: await video.getDisplayHeight() };
  const tried: string[] = [];
  for (const container of containers) {
    const supported = outputFormat(container).getSupportedVideoCodecs();
    if (options.videoCodec && !supported.includes(options.videoCodec)) {
      throw new TypeError(`options.videoCodec "${options.videoCodec}" cannot go into ${container}; choose one of ${VIDEO_CODECS.filter((codec) => supported.includes(codec)).join(', ')}.`);
    }
    const candidates = options.videoCodec ? [options.videoCodec] : [...new Set([...(ownCodec ? [ownCodec] : []), ...VIDEO_CODECS])].filter((codec) => supported.includes(codec));
    const codec = await getFirstEncodableVideoCodec(candidates, size);
    if (codec) return { container, codec };
    tried.push(`${candidates.join(', ')} into ${container}`);
  }
  throw new NstTranscodeError('no-encoder', `This browser can encode none of ${tried.join('; ')} at ${size.width}x${size.height}. Try another browser${options.format ? ' or the other format' : ''}.`);
}

function outputFormat(container: TranscodeFormat): Mp4OutputFormat | WebMOutputFormat {
  // In-memory fast start: the index goes before the media, so the file plays while it downloads.
  return container === 'mp4' ? new Mp4OutputFormat({ fastStart: 'in-memory' }) : new WebMOutputFormat();
}

/** Copy the sound where the container holds its codec; re-encode it to Opus where it does not. */
async function audioOptions(track: InputAudioTrack, output: Output): Promise<{ codec?: AudioCodec }> {
  const codec = await track.getCodec();
  return codec && output.format.getSupportedAudioCodecs().includes(codec) ? {} : { codec: FALLBACK_AUDIO_CODEC };
}

/** A track the conversion would leave out is an error: nothing is dropped silently. */
function checkDiscarded(discarded: DiscardedTrack[], container: TranscodeFormat): void {
  for (const { track, reason } of discarded) {
    if (track.isVideoTrack()) {
      if (reason === 'undecodable_source_codec' || reason === 'unknown_source_codec') throw new NstTranscodeError('undecodable-codec', 'This browser cannot decode the video track. Convert it to H.264, VP9 or AV1 first.');
      if (reason === 'no_encodable_target_codec') throw new NstTranscodeError('no-encoder', `This browser cannot encode the chosen video codec into ${container}; try the other format.`);
    } else if (track.isAudioTrack() && reason !== 'max_track_count_of_type_reached' && reason !== 'max_track_count_reached') {
      throw new NstTranscodeError('audio-not-kept', `The sound cannot be kept in ${container} (${reason.replace(/_/g, ' ')}): this browser can neither copy it there nor encode ${FALLBACK_AUDIO_CODEC}. Try the other format.`);
    }
  }
}

async function resolveModel(options: TranscodeVideoOptions, resources: TranscodeResources): Promise<BrowserStyleModel> {
  if (options.model instanceof BrowserStyleModel) {
    if (options.model.disposed) throw new TypeError('options.model is a disposed BrowserStyleModel; load it again.');
    return options.model;
  }
  try {
    const model = await queuedLoadStyleModel(options.model, { backend: options.backend, wasmPaths: options.wasmPaths, signal: options.signal });
    resources.ownModel(model);
    return model;
  } catch (error) {
    throwIfAborted(options.signal);
    throw new NstTranscodeError('model-load-failed', `The style model could not be loaded: ${(error as Error).message}`, { cause: error });
  }
}

/** One decoded frame through the network and the chain, drawn into the presenter's canvas. */
async function stylizeSample(sample: VideoSample, model: BrowserStyleModel, bridge: TfjsBridge, inferenceSize: number): Promise<HTMLCanvasElement> {
  const videoFrame = sample.toVideoFrame();
  let frame: ImageBitmap;
  try {
    frame = await createImageBitmap(videoFrame);
  } finally {
    videoFrame.close();
  }
  // The presenter owns the frame from here; where it can, its GPU work on it overlaps the network.
  bridge.prepare(frame);
  const styled = await bridge.stylize(model, frame, Math.min(inferenceSize, frame.width, frame.height));
  await bridge.presenter.present(styled, frame);
  return bridge.presenter.canvas;
}

/** Counts frames for `onProgress` and checks at the end that the whole file came through. */
class FrameCounter {
  private _frames = 0;
  private _started = 0;
  private _end = 0;
  private _frameDuration = 0;

  constructor(
    private readonly _total: number,
    private readonly _onProgress: ((progress: TranscodeProgress) => void) | undefined,
  ) {}

  frameDone(sample: VideoSample): void {
    const now = performance.now();
    if (this._frames === 0) this._started = now;
    this._frames++;
    this._end = Math.max(this._end, sample.timestamp + sample.duration);
    this._frameDuration = Math.max(this._frameDuration, sample.duration);
    if (!this._onProgress) return;
    const seconds = (now - this._started) / 1000;
    // The first frame carries the set-up (shaders, encoder): the rate counts from it on.
    const fps = this._frames > 1 && seconds > 0 ? (this._frames - 1) / seconds : 0;
    const left = Math.max(0, this._total - this._frames);
    this._onProgress({ frames: this._frames, totalFrames: this._total, fps, etaSeconds: fps > 0 ? left / fps : left > 0 ? Infinity : 0 });
  }

  /** Throws when no frame, or clearly not all of the declared duration, could be decoded. */
  checkComplete(declaredDuration: number | null): void {
    if (this._frames === 0) throw new NstTranscodeError('no-frames', 'No frame of the video could be decoded.');
    if (declaredDuration !== null && this._end + this._frameDuration + TRUNCATION_SLACK_S < declaredDuration) {
      throw new NstTranscodeError('corrupt', `Only ${this._end.toFixed(2)} s of the ${declaredDuration.toFixed(2)} s the file declares could be decoded (${this._frames} of ${this._total} frames): the file is truncated or damaged.`);
    }
  }
}

/**
 * Everything a transcode holds, let go in one place: the input, the model when it loaded it, the
 * bridge and its presenter (renderer, chain and textures), and any frame step still running.
 */
class TranscodeResources {
  input: Input | null = null;
  bridge: TfjsBridge | null = null;
  private _model: BrowserStyleModel | null = null;
  private _inFlight = new Set<Promise<unknown>>();
  private _failure: Error | null = null;

  get ownsModel(): boolean {
    return this._model !== null;
  }

  ownModel(model: BrowserStyleModel): void {
    this._model = model;
  }

  /** Runs a frame step, remembering it until it settles; its failure is the transcode's. */
  track<T>(step: () => Promise<T>): Promise<T> {
    const run = step().catch((error: Error) => {
      this.fail(error);
      throw error;
    });
    this._inFlight.add(run);
    void run.catch(() => {}).finally(() => this._inFlight.delete(run));
    return run;
  }

  /** Records the first failure of a frame step (or the GPU), as a `stylize-failed` error. */
  fail(error: Error): void {
    this._failure ??= error instanceof NstTranscodeError ? error : new NstTranscodeError('stylize-failed', `A frame could not be stylised: ${error.message}`, { cause: error });
  }

  throwIfFailed(): void {
    if (this._failure) throw this._failure;
  }

  /** Resolves once no frame step is running. */
  async settled(): Promise<void> {
    while (this._inFlight.size) await Promise.allSettled([...this._inFlight]);
  }

  async dispose(): Promise<void> {
    await this.settled();
    this.bridge?.dispose();
    this._model?.dispose();
    this.input?.dispose();
  }
}
