/**
 * Puts stylised frames on screen with three.js: the styled frame and the original it was made
 * from go through the shaders' NstStylizeChain (strength, temporal smoothing, colour matching)
 * into a canvas at the source's resolution. It only draws: how a frame got out of tfjs, and
 * whether tfjs shares this GPU, is TfjsBridge's business (the frame's `kind` says which route).
 *
 * WebGPU presents on a real GPU. A software or fallback WebGPU adapter (SwiftShader in headless
 * Chromium) crashes the GPU process when it presents to a canvas, taking every WebGL context on
 * the page with it, so there the same renderer runs on its WebGL2 backend.
 */
// The published .d.ts names WebGPU types (GPUDevice, GPUTexture): a consumer's tsc gets them from here.
/// <reference types="@webgpu/types" preserve="true" />
import { DataTexture, ExternalTexture, FloatType, LinearFilter, LinearSRGBColorSpace, NoColorSpace, RGBAFormat, Texture, UnsignedByteType, WebGPURenderer } from 'three/webgpu';
import { NstStylizeChain, type ColorMatchMode } from 'nst-video-shaders';
import { isSoftwareGpu, probeWebGpu, webGlRendererName } from '../backend/gpu-probe.js';
import type { StyledFrame, StyledPixels, StyledWebGpuBuffer } from './styled-frame.js';

export type PresentationApi = 'webgpu' | 'webgl2';

/** Which graphics API presents frames, and why. */
export interface PresenterChoice {
  readonly api: PresentationApi;
  readonly reason: string;
}

export interface PresenterOptions {
  ownerDocument?: Document;
  /** Default: `choosePresentation()`. */
  choice?: PresenterChoice;
  /** The WebGPU device to render on (tfjs's, to draw its buffers); default: a device of the renderer's own. */
  device?: GPUDevice | null;
  /** Called once if the GPU device or the WebGL context is lost; the presenter is unusable after that. */
  onLost?: (error: NstDeviceLostError) => void;
}

/** The chain's parameters, as the element's attributes set them. */
export interface PresenterParameters {
  strength: number;
  smoothing: number;
  colorMatch: number;
  colorMatchMode: ColorMatchMode;
}

export interface PrepareOptions {
  /**
   * Whether to draw what of the frame needs only the original now (default true), so that the GPU
   * works on it while the network runs; false leaves it to `present()`.
   */
  drawAhead?: boolean;
}

/** Raised when the GPU or its context goes away; the element reports it as phase 'device-lost'. */
export class NstDeviceLostError extends Error {
  override name = 'NstDeviceLostError';
}

/**
 * Decides how to present. `webgpu` only with a hardware adapter; everything else (no WebGPU, a
 * fallback adapter, a software rasteriser) presents through WebGL2.
 */
export async function choosePresentation(gpu: GPU | undefined = globalThis.navigator?.gpu): Promise<PresenterChoice> {
  const probe = await probeWebGpu(gpu);
  if (!probe.available) return { api: 'webgl2', reason: probe.description };
  if (probe.software) return { api: 'webgl2', reason: `the WebGPU adapter (${probe.description}) is a software fallback, which cannot present to a canvas` };
  return { api: 'webgpu', reason: `WebGPU adapter: ${probe.description}` };
}

export class NstGpuPresenter {
  /** The canvas frames are drawn into; the element puts it in its shadow root. */
  readonly canvas: HTMLCanvasElement;
  readonly renderer: WebGPURenderer;
  /**
   * Whether a software rasteriser (SwiftShader...) draws the frames: then the GPU's work runs on
   * the CPU's cores. WebGPU presents only on a hardware adapter (see `choosePresentation`).
   */
  readonly softwareGpu: boolean;
  private _chain: NstStylizeChain;
  /** The kind of frame the chain's pipelines were built for (on WebGPU a float texture needs other ones). */
  private _chainInput: StyledFrame['kind'] | null = null;
  private _parameters: PresenterParameters | null = null;
  private readonly _styled: StyledFrameTexture;
  private _original: Texture<ImageBitmap> | null = null;
  private _originalBitmap: ImageBitmap | null = null;
  private _width = 0;
  private _height = 0;
  private _disposed = false;

  private constructor(
    readonly choice: PresenterChoice,
    canvas: HTMLCanvasElement,
    renderer: WebGPURenderer,
  ) {
    this.canvas = canvas;
    this.renderer = renderer;
    const gl = this.gl;
    this.softwareGpu = gl !== null && isSoftwareGpu(webGlRendererName(gl));
    this._chain = new NstStylizeChain(renderer);
    this._styled = new StyledFrameTexture(renderer);
  }

  /** The shaders' chain frames go through. */
  get chain(): NstStylizeChain {
    return this._chain;
  }

  /** Makes a canvas and a three.js renderer on it. */
  static async create(options: PresenterOptions = {}): Promise<NstGpuPresenter> {
    const doc = options.ownerDocument ?? document;
    const choice = options.choice ?? (await choosePresentation(doc.defaultView?.navigator.gpu));
    const canvas = doc.createElement('canvas');
    let renderer: WebGPURenderer;
    if (choice.api === 'webgpu') {
      renderer = new WebGPURenderer({ canvas, antialias: false, alpha: false, ...(options.device && { device: options.device }) });
    } else {
      // Our own context: preserveDrawingBuffer lets snapshot(), captureStream() and drawImage()
      // read the last frame at any time, not only in the task that drew it.
      const context = canvas.getContext('webgl2', { alpha: false, antialias: false, depth: false, stencil: false, preserveDrawingBuffer: true });
      if (!context) throw new Error('WebGL2 is not available, and WebGPU cannot present here; <nst-video> needs one of them. Enable hardware acceleration in the browser.');
      renderer = new WebGPURenderer({ canvas, context, forceWebGL: true, antialias: false, alpha: false });
    }
    // Frames stay in the sRGB values the camera and the network use; no conversion anywhere.
    renderer.outputColorSpace = LinearSRGBColorSpace;
    let lost = false;
    renderer.onDeviceLost = (info: { api: string; message: string }) => {
      if (lost) return;
      lost = true;
      options.onLost?.(new NstDeviceLostError(`The ${info.api} device was lost (${info.message}). The element will try to start again; reload the page if it does not.`));
    };
    await renderer.init();
    return new NstGpuPresenter(choice, canvas, renderer);
  }

  /** The WebGL2 context frames are drawn with; null when presenting through WebGPU. */
  get gl(): WebGL2RenderingContext | null {
    return this.choice.api === 'webgl2' ? ((this.renderer.backend as unknown as { gl?: WebGL2RenderingContext }).gl ?? null) : null;
  }

  /** Sets the chain's parameters; they apply from the next frame. */
  setParameters(parameters: PresenterParameters): void {
    this._parameters = parameters;
    this.chain.strength = parameters.strength;
    this.chain.smoothing = parameters.smoothing;
    this.chain.colorMatch = parameters.colorMatch;
    this.chain.colorMatchMode = parameters.colorMatchMode;
  }

  /** Forgets the temporal history: the next frame is shown without blending in older ones. */
  reset(): void {
    this.chain.reset();
  }

  /**
   * Optional, before the network runs on `original`: takes ownership of it (closes it) and, with
   * `drawAhead` (the default), uploads it and starts the GPU on the part of the frame that needs
   * only it (the chain's `prepare`), so that the GPU works while the network does. `present()`
   * with the same bitmap finishes the frame (draws all of it without `drawAhead`).
   */
  prepare(original: ImageBitmap, { drawAhead = true }: PrepareOptions = {}): void {
    if (this._disposed) {
      original.close();
      return;
    }
    this._resize(original.width, original.height);
    this._setOriginal(original);
    if (!drawAhead) return;
    this.chain.prepare(this._original!);
    this._submit();
  }

  /**
   * Draws one frame: `styled` (the network's output, any size) over `original` (the source frame
   * it was made from, shown at its own resolution). Takes ownership of both: closes `original`
   * and releases `styled`.
   */
  async present(styled: StyledFrame, original: ImageBitmap): Promise<void> {
    try {
      if (this._disposed) {
        original.close();
        return;
      }
      if (original !== this._originalBitmap) {
        this._resize(original.width, original.height);
        this._setOriginal(original);
      }
      this._useChainFor(styled.kind);
      this.chain.render(this._styled.update(styled), this._original!, null);
    } finally {
      styled.release();
    }
  }

  /**
   * Hands the commands drawn so far to the GPU now: the network, which runs next, may keep this
   * thread busy. On WebGL a flush alone may wait for the end of the open render pass (ANGLE defers
   * it), so a fence ends it; WebGPU submits as it renders.
   */
  private _submit(): void {
    const gl = this.gl;
    if (!gl) return;
    const fence = gl.fenceSync(gl.SYNC_GPU_COMMANDS_COMPLETE, 0);
    gl.flush();
    if (fence) gl.deleteSync(fence);
  }

  /** Lets go of the frame textures and the temporal history (the source changed). */
  releaseFrames(): void {
    this._styled.dispose();
    this._original?.dispose();
    this._original = null;
    this._originalBitmap?.close();
    this._originalBitmap = null;
    this.chain.reset();
  }

  dispose(): void {
    if (this._disposed) return;
    this._disposed = true;
    this.chain.dispose();
    this._styled.dispose();
    this._original?.dispose();
    this._originalBitmap?.close();
    this.renderer.dispose();
  }

  /**
   * On WebGPU a chain's pipelines are bound to the sample type of the texture it first drew
   * (RGBA8 filterable, rgba32float not): when frames switch between the readback and the
   * zero-copy route, a new chain is made (the temporal history starts again).
   */
  private _useChainFor(input: StyledFrame['kind']): void {
    if (this._chainInput === input) return;
    const first = this._chainInput === null;
    this._chainInput = input;
    if (first || this.choice.api !== 'webgpu') return;
    this._chain.dispose();
    this._chain = new NstStylizeChain(this.renderer);
    this._chain.setSize(this._width, this._height);
    if (this._parameters) this.setParameters(this._parameters);
  }

  private _resize(width: number, height: number): void {
    if (width === this._width && height === this._height) return;
    this._width = width;
    this._height = height;
    this.renderer.setPixelRatio(1);
    this.renderer.setSize(width, height, false);
    this.chain.setSize(width, height);
    this.chain.reset();
  }

  private _setOriginal(bitmap: ImageBitmap): void {
    const current = this._original?.image;
    if (!this._original || current?.width !== bitmap.width || current?.height !== bitmap.height) {
      this._original?.dispose();
      this._original = frameTexture(new Texture(bitmap));
    } else {
      this._original.image = bitmap;
    }
    this._original.needsUpdate = true;
    this._originalBitmap?.close();
    this._originalBitmap = bitmap;
  }
}

/**
 * A styled frame of any kind as a texture the chain can sample: pixels are uploaded into an RGBA8
 * texture, a WebGPU buffer is copied into an rgba32float texture on the GPU, a WebGL texture is
 * sampled where it is. The upload and copy targets are kept while the frame size stays the same.
 */
export class StyledFrameTexture {
  private _pixels: DataTexture | null = null;
  private _copy: GPUTexture | null = null;
  /** Three's wrapper around this frame's GPU texture, which three did not make. */
  private _external: ExternalTexture | null = null;

  constructor(private readonly _renderer: WebGPURenderer) {}

  /** `frame` as a texture, until the next call. Does not release `frame`. */
  update(frame: StyledFrame): Texture {
    this._external?.dispose();
    this._external = null;
    if (frame.kind === 'readback') return this._upload(frame);
    const texture = new ExternalTexture(frame.kind === 'webgl-texture' ? frame.texture : this._copyToTexture(frame));
    texture.type = FloatType;
    texture.format = RGBAFormat;
    (texture as unknown as { image: { width: number; height: number } }).image = { width: frame.width, height: frame.height };
    this._external = frameTexture(texture);
    return this._external;
  }

  /** Frees the targets; the next `update` makes new ones. */
  dispose(): void {
    this._external?.dispose();
    this._external = null;
    this._pixels?.dispose();
    this._pixels = null;
    this._copy?.destroy();
    this._copy = null;
  }

  private _upload(pixels: StyledPixels): DataTexture {
    const current = this._pixels;
    if (current && current.image.width === pixels.width && current.image.height === pixels.height) {
      current.image.data = pixels.data;
      current.needsUpdate = true;
      return current;
    }
    current?.dispose();
    this._pixels = frameTexture(new DataTexture(pixels.data, pixels.width, pixels.height, RGBAFormat, UnsignedByteType));
    this._pixels.needsUpdate = true;
    return this._pixels;
  }

  private _copyToTexture(frame: StyledWebGpuBuffer): GPUTexture {
    const device = (this._renderer.backend as unknown as { device: GPUDevice }).device;
    if (!this._copy || this._copy.width !== frame.width || this._copy.height !== frame.height) {
      this._copy?.destroy();
      this._copy = device.createTexture({
        label: 'nst-video styled frame',
        size: [frame.width, frame.height],
        format: 'rgba32float',
        usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_DST,
      });
    }
    const encoder = device.createCommandEncoder({ label: 'nst-video styled frame copy' });
    encoder.copyBufferToTexture({ buffer: frame.buffer, bytesPerRow: frame.bytesPerRow, rowsPerImage: frame.height }, { texture: this._copy }, [frame.width, frame.height]);
    device.queue.submit([encoder.finish()]);
    return this._copy;
  }
}

function frameTexture<T extends Texture>(texture: T): T {
  texture.colorSpace = NoColorSpace;
  texture.minFilter = LinearFilter;
  texture.magFilter = LinearFilter;
  texture.generateMipmaps = false;
  texture.flipY = false;
  return texture;
}
