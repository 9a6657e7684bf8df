/**
 * The `<nst-video>` element's defaults, statuses, stats and events. Events bubble, are composed,
 * and are typed in `HTMLElementEventMap`, so `element.addEventListener('nst-error', (e) =>
 * e.detail.phase)` type-checks.
 */
import type { BackendName, BackendPreference } from '../backend/select-backend.js';
import type { StyleModelLoadProgress } from '../model/index.js';
import type { PresentationApi } from './gpu-presenter.js';

/** Short side, in px, of the picture the network sees. */
export const DEFAULT_INFERENCE_SIZE = 256;
/**
 * Frames per second the element aims for by lowering the network's input size (`target-fps`); 0
 * turns that off. 15 keeps motion fluid while leaving a slow backend room for a picture.
 */
export const DEFAULT_TARGET_FPS = 15;
/** The smallest short side `target-fps` lowers the network's input to: below it the style is mush. */
export const MIN_ADAPTIVE_INFERENCE_SIZE = 64;
/** The shaders' parameters (strength, smoothing, colour match) default to what the shaders do on their own. */
export { DEFAULT_STRENGTH, DEFAULT_SMOOTHING, DEFAULT_COLOR_MATCH, DEFAULT_COLOR_MATCH_MODE } from 'nst-video-shaders/defaults';
export const DEFAULT_BACKEND: BackendPreference = 'auto';
export const DEFAULT_FACING_MODE = 'user';
/** How often `nst-stats` fires, in ms. */
export const STATS_INTERVAL_MS = 1000;

/**
 * The source `<video>`'s events that `<nst-video>` fires again on itself, as plain `Event`s
 * (not bubbling, as a `<video>`'s), so that code and players written for `<video>` (media-chrome)
 * follow it: the ones the README lists, and those media-chrome's state reads (duration, volume,
 * seeking, loading).
 */
export const FORWARDED_MEDIA_EVENTS = [
  'loadedmetadata',
  'durationchange',
  'play',
  'playing',
  'pause',
  'waiting',
  'seeking',
  'seeked',
  'timeupdate',
  'ended',
  'volumechange',
  'emptied',
  'error',
] as const;

/** `idle`: nothing to show (no source); `loading`: the model, the camera or the media is on its way. */
export type NstVideoStatus = 'idle' | 'loading' | 'running' | 'paused' | 'error';

/** Where an error came from. */
export type NstErrorPhase = 'gpu' | 'camera' | 'model' | 'media' | 'device-lost';

export interface NstVideoStats {
  /** Stylised frames shown per second, over the last second (from the last two frames when slower). */
  readonly fps: number;
  /**
   * Mean time from frame capture to the styled frame ready for the shaders (network, plus the
   * readback where there is one), over the last second (or the last frame). The rest of a frame's
   * time is drawing.
   */
  readonly inferenceMs: number;
  /** The tfjs backend running the network. */
  readonly backend: BackendName | null;
  /** How frames reach the screen. */
  readonly presentation: PresentationApi | null;
  /** Output (source) resolution. */
  readonly width: number;
  readonly height: number;
  /** The network's input resolution. */
  readonly inferenceWidth: number;
  readonly inferenceHeight: number;
  /**
   * The short side of the network's input for the last frame: `inference-size` (capped at the
   * source's), or less where `target-fps` lowered it.
   */
  readonly inferenceSize: number;
  /** The frame rate the inference size adapts to (`target-fps`); 0 when adaptation is off. */
  readonly targetFps: number;
  /** True when the last frame went from tfjs to three.js on the GPU, without a CPU readback. */
  readonly zeroCopy: boolean;
  /** Frames shown since the source or model last changed. */
  readonly frames: number;
  /** Frames that arrived while one was still in flight, skipped rather than queued. */
  readonly droppedFrames: number;
}

export interface NstModelLoadDetail {
  readonly url: string;
  readonly styleName: string;
  readonly backend: BackendName;
  /** Why this backend was chosen, in words. */
  readonly backendReason: string;
}

/** How much of a style model's weights has arrived. */
export interface NstModelProgressDetail extends StyleModelLoadProgress {
  /** The model.json being loaded (the default style's where no `model` is set). */
  readonly url: string;
}

export interface NstReadyDetail {
  readonly width: number;
  readonly height: number;
  readonly backend: BackendName;
  readonly presentation: PresentationApi;
}

export interface NstErrorDetail {
  readonly error: Error;
  readonly phase: NstErrorPhase;
}

/** An error the element reports, with the phase it happened in. */
export class NstVideoError extends Error {
  override name = 'NstVideoError';
  constructor(
    readonly phase: NstErrorPhase,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

declare global {
  interface HTMLElementEventMap {
    /** A style model's weights are downloading: 0 bytes once model.json is read, then as they arrive. */
    'nst-model-progress': CustomEvent<NstModelProgressDetail>;
    /** A style model was loaded (and replaced any earlier one). */
    'nst-model-load': CustomEvent<NstModelLoadDetail>;
    /** The first stylised frame of a source or model is on screen. */
    'nst-ready': CustomEvent<NstReadyDetail>;
    /** Something failed; `detail.phase` says where. */
    'nst-error': CustomEvent<NstErrorDetail>;
    /** About once a second while frames are being stylised. */
    'nst-stats': CustomEvent<NstVideoStats>;
    /**
     * A stylised frame is on screen (every frame; `detail.frames` counts them): for code that
     * follows the element frame by frame, as `requestVideoFrameCallback` follows a `<video>`.
     */
    'nst-frame': CustomEvent<NstVideoStats>;
  }
}
