/**
 * The frame path: each new video frame (`requestVideoFrameCallback`) is captured as an
 * ImageBitmap, run through the network, and handed with the original to the presenter. At most
 * one frame is in flight; a frame that arrives meanwhile only marks "newer frame waiting", and
 * the newest one is taken when the current finishes: frames are dropped, never queued. The
 * network's input size comes from AdaptiveInferenceSize, which lowers it when frames take longer
 * than the target frame rate allows.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { BrowserStyleModel } from '../load-style-model.js';
import { AdaptiveInferenceSize } from './adaptive-inference-size.js';
import { NstVideoError } from './nst-video-events.js';
import type { TfjsBridge } from './tfjs-bridge.js';

export interface FrameLoopCallbacks {
  /** The model to stylise with; null skips frames. */
  model(): BrowserStyleModel | null;
  /** The network's way to the presenter, created on first use. */
  bridge(): Promise<TfjsBridge>;
  /** The user's inference size (short side, px): the most the network is given. */
  inferenceSize(): number;
  /** Frames per second to lower the inference size for; 0: never lower it. */
  targetFps(): number;
  /** A stylised frame is on screen. */
  onFrame(): void;
  /** A frame failed; the loop has stopped. */
  onError(error: NstVideoError): void;
}

/** What the loop measured over the last second and since `resetCounters()`. */
export interface FrameLoopMeasurements {
  fps: number;
  inferenceMs: number;
  frames: number;
  droppedFrames: number;
  width: number;
  height: number;
  inferenceWidth: number;
  inferenceHeight: number;
  /** Short side of the last frame's network input. */
  inferenceSize: number;
  zeroCopy: boolean;
}

const WINDOW_MS = 1000;

export class FrameLoopController implements ReactiveController {
  private _video: HTMLVideoElement | null = null;
  private _handle = 0;
  private _running = false;
  private _busy = false;
  private _pending = false;
  private _idleWaiters: (() => void)[] = [];
  private _frames = 0;
  private _dropped = 0;
  private _recent: { time: number; inferenceMs: number }[] = [];
  private _zeroCopy = false;
  private _size = { width: 0, height: 0, inferenceWidth: 0, inferenceHeight: 0 };
  private readonly _adaptive = new AdaptiveInferenceSize();

  constructor(
    host: ReactiveControllerHost,
    private readonly _callbacks: FrameLoopCallbacks,
  ) {
    host.addController(this);
  }

  get running(): boolean {
    return this._running;
  }

  /** True while a frame is being stylised or presented. */
  get busy(): boolean {
    return this._busy;
  }

  /** Follows frames of `video` (null: none). */
  attach(video: HTMLVideoElement | null): void {
    if (video === this._video) return;
    this._cancel();
    this._video = video;
    this._pending = false;
    if (this._running) this._schedule();
  }

  start(): void {
    if (this._running) return;
    this._running = true;
    this._adaptive.restartWindow();
    this._schedule();
    // A paused or still source presents no new frames: stylise the one showing now.
    if (this._video && this._video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA) this._request();
  }

  stop(): void {
    this._running = false;
    this._pending = false;
    this._cancel();
  }

  /** Resolves when no frame is in flight. */
  idle(): Promise<void> {
    if (!this._busy) return Promise.resolve();
    return new Promise((resolve) => this._idleWaiters.push(resolve));
  }

  resetCounters(): void {
    this._frames = 0;
    this._dropped = 0;
    this._recent = [];
    this._adaptive.restartWindow();
  }

  /** fps and inference time over the last second; from the last two frames when they are slower than that. */
  measurements(now = performance.now()): FrameLoopMeasurements {
    const last = this._recent.slice(-2);
    this._recent = this._recent.filter((entry) => now - entry.time <= WINDOW_MS);
    const recent = this._recent;
    let fps = recent.length >= 2 ? ((recent.length - 1) * 1000) / (recent[recent.length - 1].time - recent[0].time) : 0;
    if (recent.length < 2 && last.length === 2) {
      const interval = last[1].time - last[0].time;
      // Still coming at that slow rate (not paused or stalled)?
      if (now - last[1].time <= 2 * interval) fps = 1000 / interval;
    }
    const window = recent.length ? recent : last.slice(-1);
    const inferenceMs = window.length ? window.reduce((sum, entry) => sum + entry.inferenceMs, 0) / window.length : 0;
    if (!recent.length) this._recent = last;
    const inferenceSize = Math.min(this._size.inferenceWidth, this._size.inferenceHeight);
    return { fps, inferenceMs, frames: this._frames, droppedFrames: this._dropped, zeroCopy: this._zeroCopy, inferenceSize, ...this._size };
  }

  hostConnected(): void {}

  hostDisconnected(): void {
    this.stop();
    this._video = null;
  }

  private _schedule(): void {
    const video = this._video;
    if (!video || this._handle || !this._running) return;
    this._handle = video.requestVideoFrameCallback(this._onVideoFrame);
  }

  private _cancel(): void {
    if (this._handle && this._video) this._video.cancelVideoFrameCallback(this._handle);
    this._handle = 0;
  }

  private readonly _onVideoFrame = (): void => {
    this._handle = 0;
    if (!this._running) return;
    this._schedule();
    this._request();
  };

  private _request(): void {
    if (this._busy) {
      if (this._pending) this._dropped++;
      this._pending = true;
      return;
    }
    void this._run();
  }

  private async _run(): Promise<void> {
    this._busy = true;
    try {
      do {
        this._pending = false;
        await this._processFrame();
      } while (this._pending && this._running);
    } catch (error) {
      this.stop();
      const cause = error as Error;
      this._callbacks.onError(cause instanceof NstVideoError ? cause : new NstVideoError('gpu', `A frame could not be stylised: ${cause.message}`, { cause }));
    } finally {
      this._busy = false;
      const waiters = this._idleWaiters;
      this._idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  private async _processFrame(): Promise<void> {
    const video = this._video;
    const model = this._callbacks.model();
    if (!video || !model || model.disposed || video.readyState < HTMLMediaElement.HAVE_CURRENT_DATA || !video.videoWidth) return;
    const started = performance.now();
    const frame = await captureFrame(video);
    if (!frame) return;
    const targetFps = this._callbacks.targetFps();
    const size = this._adaptive.next(Math.min(this._callbacks.inferenceSize(), frame.width, frame.height), targetFps);
    let bridge: TfjsBridge;
    try {
      bridge = await this._callbacks.bridge();
    } catch (error) {
      frame.close();
      throw error;
    }
    // The presenter owns the frame from here; where it can, its GPU work on it overlaps the network.
    bridge.prepare(frame);
    const styled = await bridge.stylize(model, frame, size);
    const inferenceMs = performance.now() - started;
    this._zeroCopy = styled.kind !== 'readback';
    const { width, height } = frame;
    await bridge.presenter.present(styled, frame);
    this._size = { width, height, inferenceWidth: styled.width, inferenceHeight: styled.height };
    this._frames++;
    const now = performance.now();
    this._recent.push({ time: now, inferenceMs });
    this._adaptive.frameDone(now - started, now, targetFps);
    if (this._running) this._callbacks.onFrame();
  }
}

/**
 * The frame `video` shows, or null while it has none to give yet. `readyState` is not proof of
 * one: where the whole file is there at once (a blob: URL, a fast server) it reaches
 * HAVE_ENOUGH_DATA by `loadedmetadata`, before the first frame is decoded, and Chromium refuses
 * such a video ("The image source is not usable", an InvalidStateError). The video's next
 * `requestVideoFrameCallback` comes with that frame, so the loop waits for it.
 */
async function captureFrame(video: HTMLVideoElement): Promise<ImageBitmap | null> {
  try {
    return await createImageBitmap(video);
  } catch (error) {
    if ((error as DOMException).name === 'InvalidStateError') return null;
    throw error;
  }
}

