/**
 * The network's input size for a target frame rate: when frames take longer than the target
 * allows, the short side steps down a ladder (the user's size x 0.8, x 0.64, ... to a floor); when
 * the next size up would still beat the target with room to spare, it steps back up. No DOM: the
 * frame loop tells it what each frame cost and asks it which size the next one gets.
 *
 * It judges the time the element spends on a frame (capture to on screen), not the rate frames are
 * shown at: a 10 fps camera shows 10 frames/s however small the network runs, and lowering the size
 * would only blur the picture.
 */
import { SPATIAL_MULTIPLE } from '../model/index.js';
import { MIN_ADAPTIVE_INFERENCE_SIZE } from './nst-video-events.js';

/** Each step down scales the short side by this: about 0.64 of the pixels, so of the network's time. */
const STEP = 0.8;
/** Step down when frames come at less than this fraction of the target. */
const STEP_DOWN_BELOW = 0.9;
/**
 * Step up only when the next size's estimated rate is above this fraction of the target. With
 * STEP_DOWN_BELOW this is the hysteresis: a size just stepped down to is not stepped up from.
 */
const STEP_UP_ABOVE = 1.1;
/** Each decision looks at the frames of about this long (or one frame, when it alone takes longer). */
const WINDOW_MS = 1000;

export class AdaptiveInferenceSize {
  /** The largest size (the user's, capped at the source's short side) the ladder starts from. */
  private _maxSize = 0;
  /** Steps down from `_maxSize`: 0 is the user's size. */
  private _level = 0;
  /** Time spent on each frame of the current window, ms. */
  private _frameMs: number[] = [];
  private _windowStart = 0;
  /**
   * The first frame at a new size (or after a pause, a new source or model) is not measured: on
   * WebGL and WebGPU it compiles shaders for the new shapes and takes many times a normal frame.
   */
  private _warmingUp = true;

  /** The short side to run the next frame at; `targetFps` 0 turns adaptation off (always `maxSize`). */
  next(maxSize: number, targetFps: number): number {
    if (maxSize !== this._maxSize || (targetFps <= 0 && this._level > 0)) {
      // A new bound (the user changed inference-size, or the source its resolution): start from it.
      this._maxSize = maxSize;
      this._level = 0;
      this.restartWindow();
    }
    return ladderSize(this._maxSize, this._level);
  }

  /** A frame run at `next()`'s size took `frameMs`, ending at `now`. */
  frameDone(frameMs: number, now: number, targetFps: number): void {
    if (targetFps <= 0) return;
    if (this._warmingUp) {
      this._warmingUp = false;
      return;
    }
    if (!this._frameMs.length) this._windowStart = now - frameMs;
    this._frameMs.push(frameMs);
    if (now - this._windowStart < WINDOW_MS) return;
    const meanMs = this._frameMs.reduce((sum, ms) => sum + ms, 0) / this._frameMs.length;
    this._frameMs = [];
    const fps = 1000 / meanMs;
    const size = ladderSize(this._maxSize, this._level);
    if (fps < STEP_DOWN_BELOW * targetFps && size > MIN_ADAPTIVE_INFERENCE_SIZE) {
      this._step(+1);
    } else if (this._level > 0) {
      // The whole frame time scaled by the pixel count: an overestimate (capture and drawing do
      // not grow with the network's size), which is the safe side.
      const larger = ladderSize(this._maxSize, this._level - 1);
      if (fps * (size / larger) ** 2 > STEP_UP_ABOVE * targetFps) this._step(-1);
    }
  }

  /** Drops what was measured so far (the loop paused, or the source or model changed). */
  restartWindow(): void {
    this._frameMs = [];
    this._warmingUp = true;
  }

  private _step(levels: number): void {
    this._level += levels;
    this.restartWindow();
  }
}

/**
 * The short side `level` steps below `maxSize`: a multiple of the network's spatial multiple (no
 * padding on that side), never below MIN_ADAPTIVE_INFERENCE_SIZE (nor above `maxSize`).
 */
export function ladderSize(maxSize: number, level: number): number {
  if (level === 0) return maxSize;
  const scaled = Math.round((maxSize * STEP ** level) / SPATIAL_MULTIPLE) * SPATIAL_MULTIPLE;
  return Math.min(maxSize, Math.max(MIN_ADAPTIVE_INFERENCE_SIZE, scaled));
}
