/**
 * The element's renderer: the TfjsBridge and its presenter, whose canvas is the picture. The
 * first frame that needs it starts it; it is let go when the element leaves the page or the GPU
 * device is lost (the next frame then starts another), and disposed once no frame uses it.
 * `presenter` is the host's to read: it asks the host to update whenever that changes.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { NstDeviceLostError, NstGpuPresenter, PresenterParameters } from './gpu-presenter.js';
import { NstVideoError } from './nst-video-events.js';
import { TfjsBridge } from './tfjs-bridge.js';

export interface RendererCallbacks {
  /** The shaders' parameters as the element's properties say them, for each new presenter. */
  parameters(): PresenterParameters;
  /** Resolves when no frame is in flight: a renderer let go is disposed then. */
  idle(): Promise<void>;
  /** The GPU device was lost: the renderer is let go, and the next frame starts another. */
  onLost(error: NstDeviceLostError): void;
  /** A renderer let go took the model's weights with it (tfjs ran on its WebGL context): load the model again. */
  onWeightsLost(): void;
}

export class RendererController implements ReactiveController {
  private _bridge: Promise<TfjsBridge> | null = null;
  private _presenter: NstGpuPresenter | null = null;

  constructor(
    private readonly _host: ReactiveControllerHost & HTMLElement,
    private readonly _callbacks: RendererCallbacks,
  ) {
    _host.addController(this);
  }

  /** Draws the frames, once the first frame has started the renderer; null before and after. */
  get presenter(): NstGpuPresenter | null {
    return this._presenter;
  }

  /** The way from the network to the screen; started on first use. Rejects with an NstVideoError (phase gpu). */
  bridge(): Promise<TfjsBridge> {
    this._bridge ??= TfjsBridge.create({ ownerDocument: this._host.ownerDocument, onLost: (error) => this._onLost(error) }).then(
      (bridge) => {
        if (!this._host.isConnected) {
          bridge.dispose();
          throw new NstVideoError('gpu', '<nst-video> was removed while its renderer started.');
        }
        bridge.presenter.canvas.setAttribute('part', 'canvas');
        bridge.presenter.setParameters(this._callbacks.parameters());
        this._presenter = bridge.presenter;
        this._host.requestUpdate();
        return bridge;
      },
      (error: Error) => {
        this._bridge = null;
        throw error instanceof NstVideoError ? error : new NstVideoError('gpu', `The renderer could not start: ${error.message}`, { cause: error });
      },
    );
    return this._bridge;
  }

  hostConnected(): void {}

  hostDisconnected(): void {
    this._release();
  }

  private _onLost(error: NstDeviceLostError): void {
    this._release();
    this._callbacks.onLost(error);
  }

  private _release(): void {
    const bridge = this._bridge;
    this._bridge = null;
    this._presenter = null;
    this._host.requestUpdate();
    void bridge?.then(
      (started) =>
        this._callbacks.idle().then(() => {
          const weightsLost = started.disposeLosesWeights;
          started.dispose();
          if (weightsLost && this._host.isConnected) this._callbacks.onWeightsLost();
        }),
      () => {},
    );
  }
}
