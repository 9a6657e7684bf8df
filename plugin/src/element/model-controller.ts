/**
 * Loads the element's style model: one download at a time (a newer request aborts the older),
 * the new model replaces the old only once it has loaded, and the old one is disposed once no
 * frame is using it. `model` and `loading` are the host's to read: it asks the host to update
 * whenever they change.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { loadStyleModel, type BrowserStyleModel, type LoadStyleModelOptions, type StyleModelSource } from '../load-style-model.js';
import type { BackendPreference } from '../backend/select-backend.js';
import { defaultStyleModelFileUrl } from '../default-style-model.js';
import { MODEL_JSON_FILE, type StyleModelLoadProgress } from '../model/index.js';
import { NstVideoError } from './nst-video-events.js';

export interface ModelRequest {
  /** The model's URL; undefined: the package's default style. */
  readonly url?: string;
  readonly backend: BackendPreference;
  readonly wasmPaths?: string;
}

export interface ModelControllerCallbacks {
  /**
   * The model changed: a requested one is ready, or (null) the element let it go. `previous`, if
   * any, is no longer the controller's: dispose it once no frame uses it.
   */
  onChange(model: BrowserStyleModel | null, previous: BrowserStyleModel | null): void;
  /** The requested model's weights are on their way (see `LoadStyleModelOptions.onProgress`). */
  onProgress(progress: StyleModelLoadProgress): void;
  onError(error: NstVideoError): void;
}

/**
 * Loads run one after another across every element of the page and every transcode: each picks
 * the tfjs backend, which is global, and two at once can start the same backend twice.
 */
let loadQueue: Promise<unknown> = Promise.resolve();

/** `loadStyleModel`, queued behind every other load of the page. */
export function queuedLoadStyleModel(source: StyleModelSource | undefined, options: LoadStyleModelOptions): Promise<BrowserStyleModel> {
  const load = loadQueue.then(() => {
    if (options.signal?.aborted) throw options.signal.reason;
    return loadStyleModel(source, options);
  });
  loadQueue = load.catch(() => {});
  return load;
}

export class ModelController implements ReactiveController {
  private _model: BrowserStyleModel | null = null;
  private _request: ModelRequest | null = null;
  private _abort: AbortController | null = null;
  private _loading = false;

  constructor(
    private readonly _host: ReactiveControllerHost,
    private readonly _callbacks: ModelControllerCallbacks,
  ) {
    _host.addController(this);
  }

  /** The model frames are stylised with; null until one has loaded. */
  get model(): BrowserStyleModel | null {
    return this._model;
  }

  get loading(): boolean {
    return this._loading;
  }

  /** The URL of the requested model's model.json (the default style's where none was named); '' with no request. */
  get url(): string {
    if (!this._request) return '';
    return this._request.url ?? defaultStyleModelFileUrl(MODEL_JSON_FILE).href;
  }

  /** Loads `request` unless it is what is loaded or loading already. `null` unloads. */
  request(request: ModelRequest | null): void {
    if (sameRequest(request, this._request) && (this._model || this._loading)) return;
    this._abort?.abort();
    this._abort = null;
    this._request = request;
    if (!request) {
      this._setLoading(false);
      this._release();
      return;
    }
    const abort = new AbortController();
    this._abort = abort;
    this._setLoading(true);
    const onProgress = (progress: StyleModelLoadProgress) => {
      if (!abort.signal.aborted) this._callbacks.onProgress(progress);
    };
    queuedLoadStyleModel(request.url, { backend: request.backend, wasmPaths: request.wasmPaths, signal: abort.signal, onProgress }).then(
      (model) => {
        if (abort.signal.aborted) {
          model.dispose();
          return;
        }
        this._setLoading(false);
        this._abort = null;
        const previous = this._model;
        this._model = model;
        this._callbacks.onChange(model, previous);
      },
      (error: unknown) => {
        if (abort.signal.aborted) return;
        this._setLoading(false);
        this._abort = null;
        const cause = error as Error;
        const message =
          request.url === undefined
            ? `Could not load the default style: ${cause.message} nst-video looks for it in models/default/ beside its own code (the package's dist/): serve that folder with the code, or set the model attribute (a dev server that moves the code elsewhere, as Vite's pre-bundling does, needs it).`
            : `Could not load the style model ${request.url}: ${cause.message}`;
        this._callbacks.onError(new NstVideoError('model', message, { cause }));
      },
    );
  }

  /** Lets the current model go (its weights were lost with a GPU context, say) and loads the same request again. */
  reload(): void {
    const request = this._request;
    this._abort?.abort();
    this._abort = null;
    this._request = null;
    this._release();
    this.request(request);
  }

  hostConnected(): void {}

  hostDisconnected(): void {
    this._abort?.abort();
    this._abort = null;
    this._setLoading(false);
    this._request = null;
    this._release();
  }

  private _setLoading(loading: boolean): void {
    this._loading = loading;
    this._host.requestUpdate();
  }

  private _release(): void {
    const previous = this._model;
    this._model = null;
    if (previous) this._callbacks.onChange(null, previous);
    this._host.requestUpdate();
  }
}

function sameRequest(a: ModelRequest | null, b: ModelRequest | null): boolean {
  return a?.url === b?.url && a?.backend === b?.backend && a?.wasmPaths === b?.wasmPaths;
}
