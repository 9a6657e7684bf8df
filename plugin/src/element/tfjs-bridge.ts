/**
 * The one place where tfjs and three.js meet. The network runs in tfjs; its output reaches the
 * presenter's renderer by the cheapest route there is, and the frame says which in its `kind`:
 * - `webgpu-buffer`: the renderer was made on tfjs's own GPUDevice, so tfjs's output buffer is
 *   copied into a texture on the GPU;
 * - `webgl-texture`: tfjs runs on the renderer's own WebGL2 context (a backend of its own, moved
 *   there on the first frame), and its output texture is sampled where it is;
 * - `readback`: anything else (wasm, cpu, a GPU backend that cannot share): RGBA8 pixels through
 *   the CPU.
 * The route is looked at again for every frame: page code or another element may switch tfjs's
 * backend, which is global, at any time.
 */
import * as tf from '@tensorflow/tfjs-core';
import { networkUsesEveryCore } from '../backend/select-backend.js';
import type { BrowserStyleModel } from '../load-style-model.js';
import { NstGpuPresenter, type PresenterOptions } from './gpu-presenter.js';
import { SharedWebGlBackend } from './shared-webgl-backend.js';
import { SharedWebGpuDevice, tfjsWebGpuDevice } from './shared-webgpu-device.js';
import type { StyledFrame, StyledPixels } from './styled-frame.js';

export interface TfjsBridgeOptions extends Omit<PresenterOptions, 'device'> {
  /**
   * Whether frames may skip the readback (default true). False for a caller that does not own the
   * model: on WebGL, sharing moves tfjs onto the presenter's context, and the model's weights then
   * die with the presenter.
   */
  zeroCopy?: boolean;
}

export class TfjsBridge {
  /** tfjs on the presenter's WebGL2 context, once the first frame has asked for it. */
  private _webGlStarting: Promise<SharedWebGlBackend | null> | null = null;
  private _webGlStarted: SharedWebGlBackend | null = null;
  private _disposed = false;

  private constructor(
    /** Draws the frames; the bridge made it, on a GPU that tfjs can share where there is one. */
    readonly presenter: NstGpuPresenter,
    private readonly _webGpu: SharedWebGpuDevice | null,
    private readonly _zeroCopy: boolean,
  ) {}

  /** Makes the presenter; where both tfjs and the presenter run on WebGPU, on tfjs's own device. */
  static async create(options: TfjsBridgeOptions = {}): Promise<TfjsBridge> {
    const device = tfjsWebGpuDevice();
    const presenter = await NstGpuPresenter.create({ ...options, device });
    const zeroCopy = options.zeroCopy ?? true;
    const webGpu = zeroCopy && device && presenter.choice.api === 'webgpu' ? new SharedWebGpuDevice(device) : null;
    return new TfjsBridge(presenter, webGpu, zeroCopy);
  }

  /**
   * Gives `frame` to the presenter before the network runs on it; the presenter owns it from here
   * (`presenter.present()` with the same frame finishes and closes it). The presenter starts the
   * GPU on it at once where the GPU can work beside the network. A software GPU draws on the CPU:
   * beside a network on every core the two only take turns, and drawing ahead slowed both (a
   * 640x360 transcode on 2 cores ran 4-6 % slower with it), so there the drawing waits for
   * `present()`.
   */
  prepare(frame: ImageBitmap): void {
    const gpuTakesTurnsWithNetwork = this.presenter.softwareGpu && networkUsesEveryCore();
    this.presenter.prepare(frame, { drawAhead: !gpuTakesTurnsWithNetwork });
  }

  /**
   * Runs `frame` through `model` at `size` (short side, px) and hands back the output for
   * `presenter.present()`. Does not close `frame`.
   */
  async stylize(model: BrowserStyleModel, frame: ImageBitmap, size: number): Promise<StyledFrame> {
    const network = () => model.stylizeTensor(tf.browser.fromPixels(frame, 3), { size });
    const shared = await this._sharedRoute();
    return shared ? shared.frame(network) : readBack(model, network);
  }

  /**
   * True once tfjs has run on the presenter's WebGL context: the weights of every model used since
   * live there and are lost with `dispose()`; load the model again.
   */
  get disposeLosesWeights(): boolean {
    return this._webGlStarted !== null;
  }

  /** Moves tfjs off the presenter's context (back to its own WebGL backend) and disposes the presenter. */
  dispose(): void {
    if (this._disposed) return;
    this._disposed = true;
    this._webGlStarted?.remove();
    this.presenter.dispose();
  }

  /** The way around the CPU this frame can take, if any. */
  private async _sharedRoute(): Promise<SharedWebGpuDevice | SharedWebGlBackend | null> {
    if (!this._zeroCopy || this._disposed) return null;
    if (this._webGpu) return this._webGpu.active ? this._webGpu : null;
    const gl = this.presenter.gl;
    if (!this._webGlStarting && gl && tf.getBackend() === 'webgl') this._webGlStarting = this._shareContext(gl);
    const shared = this._webGlStarting ? await this._webGlStarting : null;
    return shared?.active ? shared : null;
  }

  /** Starts tfjs on the presenter's context; null (frames are read back) when it cannot. */
  private _shareContext(gl: WebGL2RenderingContext): Promise<SharedWebGlBackend | null> {
    // tfjs changes GL state that three keeps a copy of: three forgets its copy after each frame.
    return SharedWebGlBackend.start(gl, () => this.presenter.renderer.resetState()).then(
      (shared) => {
        this._webGlStarted = shared;
        if (this._disposed) shared.remove();
        return shared;
      },
      (error: Error) => {
        console.warn(`<nst-video>: frames are read back from tfjs (sharing the WebGL context failed: ${error.message})`);
        return null;
      },
    );
  }
}

async function readBack(model: BrowserStyleModel, network: () => tf.Tensor3D): Promise<StyledPixels> {
  const pixels = await model.toRgbaPixels(tf.tidy(network));
  const data = new Uint8Array(pixels.data.buffer, pixels.data.byteOffset, pixels.data.byteLength);
  return { kind: 'readback', data, width: pixels.width, height: pixels.height, release: () => {} };
}
