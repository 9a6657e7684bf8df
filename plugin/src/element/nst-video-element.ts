/**
 * `<nst-video>`: live style transfer of a camera, a video file, a MediaStream or the page's own
 * `<video>`, with temporal smoothing and colour matching on the GPU (three.js).
 */
import { LitElement, html, nothing, type PropertyValues } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { COLOR_MATCH_MODES, type ColorMatchMode } from 'nst-video-shaders';
import { BROWSER_BACKENDS, type BackendPreference } from '../backend/select-backend.js';
import type { BrowserStyleModel } from '../load-style-model.js';
import { MIN_INPUT_SIZE } from '../model/index.js';
import { FrameLoopController } from './frame-loop-controller.js';
import type { NstDeviceLostError, PresenterParameters } from './gpu-presenter.js';
import { MediaSourceController, type MediaSourceKind } from './media-source-controller.js';
import { ModelController } from './model-controller.js';
import {
  DEFAULT_BACKEND,
  DEFAULT_COLOR_MATCH,
  DEFAULT_COLOR_MATCH_MODE,
  DEFAULT_FACING_MODE,
  DEFAULT_INFERENCE_SIZE,
  DEFAULT_SMOOTHING,
  DEFAULT_STRENGTH,
  DEFAULT_TARGET_FPS,
  NstVideoError,
  STATS_INTERVAL_MS,
  type NstVideoStats,
  type NstVideoStatus,
} from './nst-video-events.js';
import { errorAfterChange, frameLoopRuns, nstVideoPlaceholder, nstVideoStatus, type NstVideoState } from './nst-video-state.js';
import { nstVideoStyles } from './nst-video-styles.js';
import { RendererController } from './renderer-controller.js';

/**
 * Shows a video source repainted in the style of a model, frame by frame, as a media element.
 *
 * Sources (first present wins): a `<video>` in the `media` slot, `srcObject`, `camera`, `src`.
 * Like `<video>`, nothing plays until `autoplay` is set or `play()` is called.
 *
 * The network runs at `inference-size` (short side, px) unless frames take longer than
 * `target-fps` (default 15) allows: then the size steps down (to 64 px at the least) until they
 * keep up, and steps back up, to `inference-size` at the most, when the larger size would still be
 * well above the target. `target-fps="0"` turns this off. `stats.inferenceSize` says the size in use.
 *
 * @fires nst-model-progress - A style model's weights are downloading (detail: url, loadedBytes, totalBytes; 0 bytes once model.json is read, the last with loadedBytes === totalBytes).
 * @fires nst-model-load - A style model loaded (detail: url, styleName, backend, backendReason).
 * @fires nst-ready - The first stylised frame of a source or model is on screen (detail: width, height, backend, presentation).
 * @fires nst-error - Something failed (detail: error, phase: 'gpu' | 'camera' | 'model' | 'media' | 'device-lost').
 * @fires nst-stats - About once a second while running (detail: NstVideoStats).
 * @fires play - The source started playing (re-fired from the source `<video>`, as are the media events below; plain, not bubbling, as `<video>`'s).
 * @fires pause - The source paused (by `pause()`, at its end, or by the page pausing its slotted `<video>`); `paused` is true.
 * @fires playing - The source's frames are moving after a start, a seek or a stall.
 * @fires ended - The source reached its end (not with `loop`).
 * @fires timeupdate - `currentTime` moved.
 * @fires loadedmetadata - The source's duration and size are known.
 * @fires durationchange - `duration` changed.
 * @fires seeking - A seek (`currentTime = t`) started.
 * @fires seeked - A seek finished.
 * @fires waiting - Playback stalled for data.
 * @fires volumechange - `muted` or `volume` changed.
 * @fires emptied - The source was unloaded (before another one loads).
 * @fires error - The source `<video>` failed (`nst-error` with phase `media` says why in words).
 *
 * @slot media - The page's own `<video>` to stylise (it is hidden; the element shows the result).
 * @slot placeholder - Shown while loading or waiting for the camera; defaults to a status line.
 *
 * @csspart stage - The box holding the canvas and the placeholder.
 * @csspart canvas - The canvas showing the stylised frames.
 * @csspart placeholder - The placeholder's box.
 *
 * @cssprop --nst-video-background - Behind the picture (default black).
 * @cssprop --nst-video-object-fit - How the picture fits the box (default contain).
 * @cssprop --nst-video-placeholder-color - Placeholder text colour.
 * @cssprop --nst-video-placeholder-font - Placeholder font.
 */
@customElement('nst-video')
export class NstVideoElement extends LitElement {
  static override styles = nstVideoStyles;

  /** URL of the style's model.json (or its folder); without it, the package's default style. */
  @property() model: string | null = null;
  /** URL of a video to stylise. */
  @property() src: string | null = null;
  /** Stylise the camera. */
  @property({ type: Boolean, reflect: true }) camera = false;
  /** Which camera: 'user' (front, default) or 'environment' (back). */
  @property({ attribute: 'facing-mode' }) facingMode = DEFAULT_FACING_MODE;
  /** Start playing as soon as the source is ready. */
  @property({ type: Boolean, reflect: true }) autoplay = false;
  /** Mute the sound of `src` or `srcObject` (the camera is opened without sound; a slotted `<video>` keeps its own). */
  @property({ type: Boolean, reflect: true }) muted = false;
  /** Loop `src` (a slotted `<video>` keeps its own `loop`). */
  @property({ type: Boolean, reflect: true }) loop = false;
  /** Show the picture mirrored, as a selfie view. Snapshots and streams are not mirrored. */
  @property({ type: Boolean, reflect: true }) mirrored = false;
  /** 0..1: 0 shows the original, 1 the full style. */
  @property({ type: Number }) strength = DEFAULT_STRENGTH;
  /** 0..1: how much of the previous output is kept where the picture is still (less flicker). */
  @property({ type: Number }) smoothing = DEFAULT_SMOOTHING;
  /** 0..1: how far the output's colours are pulled to the original's. */
  @property({ type: Number, attribute: 'color-match' }) colorMatch = DEFAULT_COLOR_MATCH;
  /** How colour matching works: 'luminance' (default: keep the original's chroma) or 'mean-variance' (match its colour statistics). */
  @property({ attribute: 'color-match-mode' }) colorMatchMode: ColorMatchMode = DEFAULT_COLOR_MATCH_MODE;
  /**
   * Short side, in px, of the network's input: the most it is given (`target-fps` may lower it).
   * The output is shown at the source's resolution.
   */
  @property({ type: Number, attribute: 'inference-size' }) inferenceSize = DEFAULT_INFERENCE_SIZE;
  /**
   * Frames per second to aim for (default 15): while frames take longer than that, the network's
   * input steps down from `inference-size` (to 64 px at the least), and back up when there is room.
   * 0 turns this off: the network always runs at `inference-size`.
   */
  @property({ type: Number, attribute: 'target-fps' }) targetFps = DEFAULT_TARGET_FPS;
  /** tfjs backend: 'auto' (default), 'webgpu', 'webgl', 'wasm' or 'cpu'. */
  @property() backend: BackendPreference = DEFAULT_BACKEND;
  /** Where the tfjs wasm binaries are served (a URL prefix ending in '/'), for the wasm backend. */
  @property({ attribute: 'wasm-paths' }) wasmPaths: string | null = null;
  /** A MediaStream to stylise (property only), as `<video>.srcObject`. */
  @property({ attribute: false }) srcObject: MediaStream | null = null;

  // What the element itself knows, each reactive (setting it updates the element, and so `_sync()`).
  /** As `<video>.paused`: by pause() or before play(), or the source paused itself (its end, the page's own `<video>`). */
  @state() private _paused = true;
  /** The page is hidden: frames are not stylised meanwhile. */
  @state() private _hidden = false;
  /** A stylised frame of this source, model and renderer is on screen: `nst-ready` has fired for them. */
  @state() private _frameShown = false;
  /** The last error, until a new source or model ends it (`errorAfterChange`). */
  @state() private _error: NstVideoError | null = null;

  /** The page's own `<video>` in the `media` slot. */
  private _slotted: HTMLVideoElement | null = null;
  /**
   * The element paused its source for a hidden page: the `pause` (and the `play` on return) that
   * causes are not the page's doing, so they are not fired and do not change `paused`.
   */
  private _pausedForHidden = false;
  private _statsTimer = 0;
  private readonly _sourceVideo: HTMLVideoElement;
  private readonly _media: MediaSourceController;
  private readonly _models: ModelController;
  private readonly _renderer: RendererController;
  private readonly _loop: FrameLoopController;

  constructor() {
    super();
    this._sourceVideo = document.createElement('video');
    this._sourceVideo.className = 'source';
    this._media = new MediaSourceController(this, this._sourceVideo, {
      onVideoChange: (video, kind) => this._onVideoChange(video, kind),
      onError: (error) => this._fail(error),
      onMediaEvent: (event) => this._onMediaEvent(event),
    });
    this._models = new ModelController(this, {
      onChange: (model, previous) => this._onModelChange(model, previous),
      onProgress: (progress) => this._dispatch('nst-model-progress', { url: this._models.url, ...progress }),
      onError: (error) => this._fail(error),
    });
    this._renderer = new RendererController(this, {
      parameters: () => this._parameters(),
      idle: () => this._loop.idle(),
      onLost: (error) => this._onDeviceLost(error),
      onWeightsLost: () => this._models.reload(),
    });
    this._loop = new FrameLoopController(this, {
      model: () => this._models.model,
      bridge: () => this._renderer.bridge(),
      inferenceSize: () => Math.max(MIN_INPUT_SIZE, Math.round(finiteOr(this.inferenceSize, DEFAULT_INFERENCE_SIZE))),
      targetFps: () => this._targetFps(),
      onFrame: () => this._onFrame(),
      onError: (error) => this._fail(error),
    });
  }

  /** `idle`, `loading`, `running`, `paused` or `error`; reflected as the `status` attribute. */
  get status(): NstVideoStatus {
    return nstVideoStatus(this._state());
  }

  /** True unless playing (as `<video>.paused`). */
  get paused(): boolean {
    return this._paused;
  }

  /**
   * The source's position in seconds (as `<video>.currentTime`); setting it seeks the source.
   * 0 without a source; a live stream (camera, `srcObject`) cannot seek.
   */
  get currentTime(): number {
    return this._media.video?.currentTime ?? 0;
  }

  set currentTime(seconds: number) {
    const video = this._media.video;
    if (video) video.currentTime = seconds;
  }

  /** The source's length in seconds: NaN without a source or before `loadedmetadata`, Infinity for a live stream (camera, `srcObject`). */
  get duration(): number {
    return this._media.video?.duration ?? NaN;
  }

  /** True once the source has played to its end (never with `loop`, never for a live stream). */
  get ended(): boolean {
    return this._media.video?.ended ?? false;
  }

  /** 0..1, the sound's volume for `src` and `srcObject` (as `<video>.volume`, which throws outside 0..1); a slotted `<video>` keeps its own. */
  get volume(): number {
    return this._sourceVideo.volume;
  }

  set volume(volume: number) {
    this._sourceVideo.volume = volume;
  }

  /** The last error, until the model or the source changes. */
  get error(): NstVideoError | null {
    return this._error;
  }

  /** What the element measured: fps, inference time and size, backend, resolution. */
  get stats(): NstVideoStats {
    const measured = this._loop.measurements();
    return {
      ...measured,
      targetFps: this._targetFps(),
      backend: this._models.model?.backend.backend ?? null,
      presentation: this._renderer.presenter?.choice.api ?? null,
    };
  }

  /** The stream frames come from: the camera's while it is open, else `srcObject`. */
  get mediaStream(): MediaStream | null {
    return this._media.cameraStream ?? (this._media.video?.srcObject instanceof MediaStream ? this._media.video.srcObject : null);
  }

  /** Starts (or resumes) playing the source and stylising it. */
  async play(): Promise<void> {
    // A source set just before (`src`, `camera`, `srcObject`) waits for the next update: take it
    // now, so that this plays it, as `<video>.play()` plays the src just set.
    this._requestModel();
    this._updateSource();
    this._paused = false;
    this._pausedForHidden = false;
    try {
      await this._media.play();
    } catch (error) {
      this._paused = true;
      this._fail(error as NstVideoError);
      throw error;
    }
  }

  /** Pauses the source; the last frame stays on screen. */
  pause(): void {
    this._paused = true;
    this._pausedForHidden = false;
    this._media.pause();
  }

  /** Forgets the temporal history: the next frame is shown without blending in earlier ones. */
  reset(): void {
    this._renderer.presenter?.reset();
  }

  /**
   * A live stream of the stylised picture (as `<canvas>.captureStream()`), with the source's sound
   * where it has any (a `src` file, a `srcObject` with audio; the camera is opened without sound).
   * Available once `nst-ready` has fired.
   */
  captureStream(fps?: number): MediaStream {
    const canvas = this._renderer.presenter?.canvas;
    if (!canvas) throw new DOMException('<nst-video> has no picture yet; call captureStream() after the nst-ready event.', 'InvalidStateError');
    const stream = fps === undefined ? canvas.captureStream() : canvas.captureStream(fps);
    for (const track of this._sourceAudioTracks()) stream.addTrack(track);
    return stream;
  }

  /** The current stylised frame as an image (default PNG), at the source's resolution. */
  snapshot(type = 'image/png', quality?: number): Promise<Blob> {
    const canvas = this._renderer.presenter?.canvas;
    if (!canvas || !this._frameShown) return Promise.reject(new DOMException('<nst-video> has no picture yet; call snapshot() after the nst-ready event.', 'InvalidStateError'));
    return new Promise((resolve, reject) =>
      canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error(`The browser could not encode the frame as ${type}.`))), type, quality),
    );
  }

  /**
   * Constructed style sheets cannot be shared with another document (an iframe, a Document
   * Picture-in-Picture window): there the styles go in a <style> element instead.
   */
  protected override createRenderRoot(): HTMLElement | DocumentFragment {
    if (this.ownerDocument === document) return super.createRenderRoot();
    const root = this.attachShadow((this.constructor as typeof LitElement).shadowRootOptions);
    const style = this.ownerDocument.createElement('style');
    style.textContent = nstVideoStyles.cssText;
    root.append(style);
    return root;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this._hidden = this.ownerDocument.visibilityState === 'hidden';
    this.ownerDocument.addEventListener('visibilitychange', this._onVisibilityChange);
    this._statsTimer = (this.ownerDocument.defaultView ?? window).setInterval(() => this._emitStats(), STATS_INTERVAL_MS);
    this._requestModel();
    this._updateSource();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.ownerDocument.removeEventListener('visibilitychange', this._onVisibilityChange);
    (this.ownerDocument.defaultView ?? window).clearInterval(this._statsTimer);
    this._frameShown = false;
  }

  /**
   * Each change of a property goes to the one part it concerns (`changed.has` takes only this
   * element's property names: a typo does not compile); then `_sync()` applies the new state.
   */
  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('model') || changed.has('backend') || changed.has('wasmPaths')) this._requestModel();
    if (changed.has('srcObject') || changed.has('camera') || changed.has('facingMode') || changed.has('src') || changed.has('muted') || changed.has('loop')) this._updateSource();
    if (changed.has('strength') || changed.has('smoothing') || changed.has('colorMatch') || changed.has('colorMatchMode')) this._renderer.presenter?.setParameters(this._parameters());
    this._sync();
  }

  protected override render() {
    const placeholder = nstVideoPlaceholder(this._state());
    return html`<div part="stage" class="stage">
      ${this._renderer.presenter?.canvas ?? nothing}
      <div part="placeholder" class="placeholder" ?hidden=${placeholder === null}>
        <slot name="placeholder">${placeholder ?? nothing}</slot>
      </div>
      <slot name="media" @slotchange=${this._onSlotChange}></slot>
      ${this._sourceVideo}
    </div>`;
  }

  /** New audio tracks carrying the source's sound (the caller stops them). */
  private _sourceAudioTracks(): MediaStreamTrack[] {
    const video = this._media.video;
    if (!video) return [];
    if (video.srcObject instanceof MediaStream) return video.srcObject.getAudioTracks().map((track) => track.clone());
    const capture = (video as HTMLVideoElement & { captureStream?: () => MediaStream }).captureStream;
    return capture && (video.currentSrc || video.src) ? capture.call(video).getAudioTracks() : [];
  }

  /**
   * Everything the status, the placeholder and the frame loop are derived from (nst-video-state.ts),
   * read from where each part lives: the source and the model from their controllers, the rest from
   * the element's reactive fields. Every one of them updates the element when it changes.
   */
  private _state(): NstVideoState {
    return {
      source: this._media.state,
      modelLoaded: this._models.model !== null,
      modelLoading: this._models.loading,
      playback: this._paused ? 'paused' : this._hidden ? 'hidden' : 'playing',
      frameShown: this._frameShown,
      error: this._error,
    };
  }

  /** Applies what the state implies, once per update: the frame loop runs or stops, and the `status` attribute follows. */
  private _sync(): void {
    const state = this._state();
    if (frameLoopRuns(state)) this._loop.start();
    else this._loop.stop();
    this.setAttribute('status', nstVideoStatus(state));
  }

  /** Asks for the model the properties name (the controller does nothing if it has it already). */
  private _requestModel(): void {
    if (!this.isConnected) return;
    const url = this.model?.trim();
    const backend = BROWSER_BACKENDS.includes(this.backend as never) ? this.backend : 'auto';
    this._models.request({ url: url || undefined, backend, wasmPaths: this.wasmPaths ?? undefined });
  }

  /** Hands the source properties to the media controller (it switches only to a different source). */
  private _updateSource(): void {
    if (!this.isConnected) return;
    this._media.update({
      slotted: this._slotted,
      srcObject: this.srcObject,
      camera: this.camera,
      facingMode: this.facingMode || DEFAULT_FACING_MODE,
      src: this.src || null,
      muted: this.muted,
      loop: this.loop,
    });
  }

  private _onSlotChange(event: Event): void {
    const slot = event.target as HTMLSlotElement;
    let video: HTMLVideoElement | null = null;
    for (const element of slot.assignedElements({ flatten: true })) {
      video = element instanceof HTMLVideoElement ? element : element.querySelector('video');
      if (video) break;
    }
    this._slotted = video;
    this._updateSource();
  }

  private _onVideoChange(video: HTMLVideoElement | null, kind: MediaSourceKind | null): void {
    this._error = errorAfterChange(this._error, 'source');
    this._frameShown = false;
    this._pausedForHidden = false;
    this._loop.attach(video);
    this._loop.resetCounters();
    this._renderer.presenter?.releaseFrames();
    // Like <video autoplay>; a page's own <video> that plays (or will) carries the element along.
    if (video && (this.autoplay || (kind === 'slot' && (video.autoplay || !video.paused)))) this.play().catch(() => {});
  }

  /** Fires the source's media event on the element; a pause or play the page did not ask the element for (the end of the source, the page's own `<video>`) is the element's too. */
  private _onMediaEvent(event: Event): void {
    if (event.type === 'play' || event.type === 'pause') {
      if (this._pausedForHidden) {
        if (event.type === 'play') this._pausedForHidden = false;
        return;
      }
      this._paused = (event.target as HTMLVideoElement).paused;
    }
    this.dispatchEvent(new Event(event.type));
  }

  private _onModelChange(model: BrowserStyleModel | null, previous: BrowserStyleModel | null): void {
    if (previous) void this._loop.idle().then(() => previous.dispose());
    this._error = errorAfterChange(this._error, 'model');
    this._frameShown = false;
    this._loop.resetCounters();
    this._renderer.presenter?.reset();
    if (model) {
      this._dispatch('nst-model-load', { url: this._models.url, styleName: model.styleName, backend: model.backend.backend, backendReason: model.backend.reason });
    }
  }

  private _onFrame(): void {
    const stats = this.stats;
    if (!this._frameShown) {
      this._frameShown = true;
      const model = this._models.model;
      const presenter = this._renderer.presenter;
      if (model && presenter) this._dispatch('nst-ready', { width: stats.width, height: stats.height, backend: model.backend.backend, presentation: presenter.choice.api });
    }
    this._dispatch('nst-frame', stats);
  }

  private _onDeviceLost(error: NstDeviceLostError): void {
    // The renderer is gone and the next frame starts another; the page hears about the loss.
    this._frameShown = false;
    this._dispatch('nst-error', { error: new NstVideoError('device-lost', error.message, { cause: error }), phase: 'device-lost' });
  }

  /** The shaders' parameters from the properties: out-of-range numbers clamped, anything else the default. */
  private _parameters(): PresenterParameters {
    return {
      strength: clamp01(this.strength, DEFAULT_STRENGTH),
      smoothing: clamp01(this.smoothing, DEFAULT_SMOOTHING),
      colorMatch: clamp01(this.colorMatch, DEFAULT_COLOR_MATCH),
      colorMatchMode: COLOR_MATCH_MODES.includes(this.colorMatchMode) ? this.colorMatchMode : DEFAULT_COLOR_MATCH_MODE,
    };
  }

  /** Reports `error`; the update it causes stops the frame loop (`frameLoopRuns`). */
  private _fail(error: NstVideoError): void {
    this._error = error;
    this._dispatch('nst-error', { error, phase: error.phase });
  }

  /** `targetFps` as the frame loop uses it: 0 (off) for a negative value, the default for a non-number. */
  private _targetFps(): number {
    return Math.max(0, finiteOr(Number(this.targetFps), DEFAULT_TARGET_FPS));
  }

  private _emitStats(): void {
    if (this.status === 'running') this._dispatch('nst-stats', this.stats);
  }

  private readonly _onVisibilityChange = (): void => {
    this._hidden = this.ownerDocument.visibilityState === 'hidden';
    const video = this._media.video;
    // A file pauses with the page; a live stream keeps running but is not stylised meanwhile.
    if (video && !(video.srcObject instanceof MediaStream) && !this._paused) {
      if (this._hidden) {
        this._pausedForHidden = !video.paused;
        video.pause();
      } else if (this._pausedForHidden) {
        void video.play().catch(() => (this._pausedForHidden = false));
      }
    }
  };

  private _dispatch<K extends 'nst-model-progress' | 'nst-model-load' | 'nst-ready' | 'nst-error' | 'nst-stats' | 'nst-frame'>(type: K, detail: HTMLElementEventMap[K]['detail']): void {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }
}

function finiteOr(value: number, fallback: number): number {
  return Number.isFinite(value) ? value : fallback;
}

function clamp01(value: number, fallback: number): number {
  return Math.min(1, Math.max(0, finiteOr(Number(value), fallback)));
}

declare global {
  interface HTMLElementTagNameMap {
    'nst-video': NstVideoElement;
  }
}
