/**
 * Where `<nst-video>` gets its frames: a `<video>` playing the camera, a URL (`src`), a page's
 * MediaStream (`srcObject`), or the page's own `<video>` in the `media` slot (first match wins,
 * in that order: slot, srcObject, camera, src). Opens and stops the camera; reports camera and
 * media errors with their phase. Its `state` is the host's to read: it asks the host to update
 * whenever that changes.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { FORWARDED_MEDIA_EVENTS, NstVideoError } from './nst-video-events.js';

export interface MediaSourceSettings {
  /** The page's own `<video>`, from the `media` slot. */
  readonly slotted: HTMLVideoElement | null;
  readonly srcObject: MediaStream | null;
  readonly camera: boolean;
  readonly facingMode: string;
  readonly src: string | null;
  readonly muted: boolean;
  readonly loop: boolean;
}

export type MediaSourceKind = 'slot' | 'srcObject' | 'camera' | 'src';

/** Where frames come from now: nothing, the camera being opened (its permission prompt), or a video. */
export type MediaSourceState = 'none' | 'opening-camera' | 'video';

export interface MediaSourceCallbacks {
  /** The video frames come from changed (null: no source). */
  onVideoChange(video: HTMLVideoElement | null, kind: MediaSourceKind | null): void;
  onError(error: NstVideoError): void;
  /** One of FORWARDED_MEDIA_EVENTS from the video frames come from now. */
  onMediaEvent(event: Event): void;
}

export class MediaSourceController implements ReactiveController {
  private _key = '';
  private _kind: MediaSourceKind | null = null;
  private _active: HTMLVideoElement | null = null;
  private _cameraStream: MediaStream | null = null;
  /** getUserMedia is asked and has not answered (the permission prompt, the camera starting). */
  private _openingCamera = false;
  private _generation = 0;
  private _connected = false;
  private _lastSettings: MediaSourceSettings | null = null;

  constructor(
    private readonly _host: ReactiveControllerHost & HTMLElement,
    /** The element's own hidden `<video>`, used for every source but the slot. */
    private readonly _video: HTMLVideoElement,
    private readonly _callbacks: MediaSourceCallbacks,
  ) {
    _host.addController(this);
    _video.playsInline = true;
    _video.setAttribute('playsinline', '');
    _video.crossOrigin = 'anonymous';
  }

  /** The video frames come from now. */
  get video(): HTMLVideoElement | null {
    return this._active;
  }

  get kind(): MediaSourceKind | null {
    return this._kind;
  }

  get state(): MediaSourceState {
    return this._active ? 'video' : this._openingCamera ? 'opening-camera' : 'none';
  }

  /** The camera's stream while the element has the camera open. */
  get cameraStream(): MediaStream | null {
    return this._cameraStream;
  }

  /** Applies the element's source settings; switches source only when they name a different one. */
  update(settings: MediaSourceSettings): void {
    this._lastSettings = settings;
    this._video.muted = settings.muted;
    this._video.loop = settings.loop;
    if (!this._connected) return;
    const kind: MediaSourceKind | null = settings.slotted ? 'slot' : settings.srcObject ? 'srcObject' : settings.camera ? 'camera' : settings.src ? 'src' : null;
    const key = kind === 'slot' ? 'slot' : kind === 'srcObject' ? `object:${streamId(settings.srcObject!)}` : kind === 'camera' ? `camera:${settings.facingMode}` : kind === 'src' ? `src:${settings.src}` : '';
    if (key === this._key && (kind !== 'slot' || this._active === settings.slotted)) return;
    this._key = key;
    this._teardown();
    this._kind = kind;
    const generation = ++this._generation;
    switch (kind) {
      case 'slot':
        this._activate(settings.slotted!);
        break;
      case 'srcObject':
        this._video.srcObject = settings.srcObject;
        this._activate(this._video);
        break;
      case 'src':
        this._video.src = new URL(settings.src!, this._host.ownerDocument.baseURI).href;
        this._activate(this._video);
        break;
      case 'camera':
        void this._openCamera(settings.facingMode, generation);
        break;
      default:
        this._callbacks.onVideoChange(null, null);
    }
  }

  /** Starts playback of the current source; rejects with an NstVideoError (phase media) if the browser refuses. */
  async play(): Promise<void> {
    const video = this._active;
    if (!video) return;
    try {
      await video.play();
    } catch (error) {
      const cause = error as DOMException;
      // Superseded by a pause() or a new source: not an error.
      if (cause.name === 'AbortError' || video !== this._active) return;
      const hint = cause.name === 'NotAllowedError' ? ' The browser blocks playback with sound before a user gesture: set `muted`, or call play() from a click.' : '';
      throw new NstVideoError('media', `The video could not start playing (${cause.name}: ${cause.message}).${hint}`, { cause });
    }
  }

  pause(): void {
    this._active?.pause();
  }

  hostConnected(): void {
    this._connected = true;
    if (this._lastSettings) this.update(this._lastSettings);
  }

  hostDisconnected(): void {
    this._connected = false;
    this._key = '';
    this._generation++;
    this._teardown();
  }

  private async _openCamera(facingMode: string, generation: number): Promise<void> {
    const mediaDevices = (this._host.ownerDocument.defaultView ?? window).navigator.mediaDevices;
    if (!mediaDevices?.getUserMedia) {
      this._callbacks.onError(new NstVideoError('camera', 'This page cannot use a camera: navigator.mediaDevices is missing (the page must be served over https or from localhost).'));
      return;
    }
    this._openingCamera = true;
    this._host.requestUpdate();
    let stream: MediaStream;
    try {
      stream = await mediaDevices.getUserMedia({ video: { facingMode }, audio: false });
    } catch (error) {
      if (generation !== this._generation) return;
      this._openingCamera = false;
      this._host.requestUpdate();
      this._callbacks.onError(cameraError(error as DOMException));
      return;
    }
    if (generation !== this._generation) {
      stopTracks(stream);
      return;
    }
    this._openingCamera = false;
    this._cameraStream = stream;
    this._video.srcObject = stream;
    this._activate(this._video);
  }

  private _activate(video: HTMLVideoElement): void {
    this._active = video;
    video.addEventListener('error', this._onMediaError);
    for (const type of FORWARDED_MEDIA_EVENTS) video.addEventListener(type, this._onMediaEvent);
    this._host.requestUpdate();
    this._callbacks.onVideoChange(video, this._kind);
  }

  private _teardown(): void {
    const video = this._active;
    if (video) {
      video.removeEventListener('error', this._onMediaError);
      for (const type of FORWARDED_MEDIA_EVENTS) video.removeEventListener(type, this._onMediaEvent);
      if (video === this._video) {
        video.pause();
        video.srcObject = null;
        video.removeAttribute('src');
        video.load();
      }
    }
    if (this._cameraStream) {
      stopTracks(this._cameraStream);
      this._cameraStream = null;
    }
    this._active = null;
    this._kind = null;
    // A camera still being opened is not waited for any more: its answer finds a newer generation.
    this._openingCamera = false;
    this._host.requestUpdate();
  }

  private readonly _onMediaEvent = (event: Event): void => {
    if (event.target === this._active) this._callbacks.onMediaEvent(event);
  };

  private readonly _onMediaError = (event: Event): void => {
    const video = event.target as HTMLVideoElement;
    if (video !== this._active) return;
    const code = video.error?.code;
    const what = code === 2 ? 'a network error' : code === 3 ? 'a decoding error' : code === 4 ? 'an unsupported format or a missing file' : 'an error';
    const source = video.currentSrc || video.getAttribute('src') || 'the video';
    this._callbacks.onError(new NstVideoError('media', `${source} could not be played: ${what}${video.error?.message ? ` (${video.error.message})` : ''}. Check the URL and that the browser can decode the file.`));
  };
}

const streamIds = new WeakMap<MediaStream, number>();
let nextStreamId = 1;

function streamId(stream: MediaStream): number {
  let id = streamIds.get(stream);
  if (id === undefined) {
    id = nextStreamId++;
    streamIds.set(stream, id);
  }
  return id;
}

function stopTracks(stream: MediaStream): void {
  for (const track of stream.getTracks()) track.stop();
}

function cameraError(error: DOMException): NstVideoError {
  const advice: Record<string, string> = {
    NotAllowedError: 'Camera access was denied. Allow the camera for this site (the icon in the address bar) and try again.',
    NotFoundError: 'No camera was found. Connect one, or play a video with `src` instead.',
    NotReadableError: 'The camera is in use by another application or could not be started. Close other apps using it and try again.',
    OverconstrainedError: 'No camera matches the requested facing-mode. Try facing-mode="user".',
    SecurityError: 'The camera is blocked on this page (permissions policy or an insecure origin).',
  };
  const text = advice[error.name] ?? `The camera could not be opened (${error.name}: ${error.message}).`;
  return new NstVideoError('camera', text, { cause: error });
}
