/**
 * Puts stylised frames on screen with three.js: the styled frame and the original it was made
 * from go through the shaders' NstStylizeChain (strength, temporal smoothing, colour matching)
 * into a canvas at the source's resolution.
 *
 * WebGPU presents on a real GPU. A software or fallback WebGPU adapter (SwiftShader in headless
 * Chromium) crashes the GPU process when it presents to a canvas, taking every WebGL context on
 * the page with it, so there the same renderer runs on its WebGL2 backend.
 */
// The published .d.ts names WebGPU types (GPUDevice, GPUTexture): a consumer's tsc gets them from here.
/// <reference types="@webgpu/types" preserve="true" />
import { DataTexture, ExternalTexture, FloatType, LinearFilter, LinearSRGBColorSpace, NoColorSpace, RGBAFormat, Texture, UnsignedByteType, WebGPURenderer } from 'three/webgpu';
import * as tf from '@tensorflow/tfjs-core';
import { NstStylizeChain, type ColorMatchMode } from 'nst-video-shaders';
import { probeWebGpu } from '../backend/gpu-probe.js';
import { SharedWebGlBackend } from './shared-webgl-backend.js';
import { SharedWebGpuDevice, tfjsWebGpuDevice } from './shared-webgpu-device.js';

/** What turns the network's output into a texture the renderer can draw without a readback. */
export type TfjsSharing = SharedWebGlBackend | SharedWebGpuDevice;

export type PresentationApi = 'webgpu' | 'webgl2';

/** Which graphics API presents frames, and why. */
export interface PresenterChoice {
  readonly api: PresentationApi;
  readonly reason: string;
}

/** The chain's parameters, as the element's attributes set them. */
export interface PresenterParameters {
  strength: number;
  smoothing: number;
  colorMatch: number;
  colorMatchMode: ColorMatchMode;
}

/** RGBA8 pixels of the styled frame, read back from tfjs (wasm, cpu, or a GPU backend that could not share). */
export interface StyledPixels {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
}

/**
 * The styled frame as a texture on the renderer's own WebGL2 context or WebGPU device (tfjs
 * shares it): RGBA float 0..1, first row at the top. `release()` hands it back after drawing.
 */
export interface StyledGpuTexture {
  readonly texture: WebGLTexture | GPUTexture;
  readonly width: number;
  readonly height: number;
  release(): void;
}

export type StyledFrame = StyledPixels | StyledGpuTexture;

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
  private _chain: NstStylizeChain;
  /** What the chain's pipelines were built for (on WebGPU a float texture needs other ones). */
  private _chainInput: 'pixels' | 'gpu' | null = null;
  private _parameters: PresenterParameters | null = null;
  private _styled: DataTexture | null = null;
  private _original: Texture<ImageBitmap> | null = null;
  private _originalBitmap: ImageBitmap | null = null;
  private _width = 0;
  private _height = 0;
  private _disposed = false;
  private _shared: SharedWebGlBackend | null = null;
  private _device: SharedWebGpuDevice | null = null;
  private _sharing: Promise<SharedWebGlBackend | null> | null = null;

  private constructor(
    readonly choice: PresenterChoice,
    canvas: HTMLCanvasElement,
    renderer: WebGPURenderer,
  ) {
    this.canvas = canvas;
    this.renderer = renderer;
    this._chain = new NstStylizeChain(renderer);
  }

  /** The shaders' chain frames go through. */
  get chain(): NstStylizeChain {
    return this._chain;
  }

  /**
   * Makes a canvas and a three.js renderer on it. `onLost` is called once if the GPU device or
   * the WebGL context is lost; the presenter is unusable after that.
   */
  static async create(options: { ownerDocument?: Document; choice?: PresenterChoice; onLost?: (error: NstDeviceLostError) => void } = {}): Promise<NstGpuPresenter> {
    const doc = options.ownerDocument ?? document;
    const choice = options.choice ?? (await choosePresentation(doc.defaultView?.navigator.gpu));
    const canvas = doc.createElement('canvas');
    let renderer: WebGPURenderer;
    let sharedDevice: SharedWebGpuDevice | null = null;
    if (choice.api === 'webgpu') {
      // On tfjs's own device when it runs on WebGPU: its output buffers are then ours to draw.
      const device = tfjsWebGpuDevice();
      sharedDevice = device ? new SharedWebGpuDevice(device) : null;
      renderer = new WebGPURenderer({ canvas, antialias: false, alpha: false, ...(device && { device }) });
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
    const presenter = new NstGpuPresenter(choice, canvas, renderer);
    presenter._device = sharedDevice;
    return presenter;
  }

  get width(): number {
    return this._width;
  }

  get height(): number {
    return this._height;
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
   * Draws one frame: `styled` (the network's output, any size) over `original` (the source frame
   * it was made from, shown at its own resolution). Takes ownership of `original` and closes it.
   */
  async present(styled: StyledFrame, original: ImageBitmap): Promise<void> {
    if (this._disposed) {
      original.close();
      if ('release' in styled) styled.release();
      return;
    }
    this._resize(original.width, original.height);
    this._setOriginal(original);
    this._useChainFor('release' in styled ? 'gpu' : 'pixels');
    if ('release' in styled) {
      // tfjs drew on this context: three's cached GL state is stale.
      if (this.choice.api === 'webgl2') this.renderer.resetState();
      const texture = gpuFrameTexture(styled);
      try {
        this.chain.render(texture, this._original!, null);
      } finally {
        texture.dispose();
        styled.release();
      }
      return;
    }
    this.chain.render(this._setStyled(styled), this._original!, null);
  }

  /**
   * Zero-copy when tfjs and the renderer can share the GPU: on WebGPU, the renderer was made on
   * tfjs's device; on WebGL2, tfjs is moved onto the renderer's context (once). Resolves with the
   * sharing while tfjs still runs there, else null (frames are then read back and uploaded).
   */
  async shareWithTfjs(): Promise<TfjsSharing | null> {
    if (this._disposed) return null;
    if (this._device) return this._device.active ? this._device : null;
    const gl = this.gl;
    if (!this._sharing && gl && tf.getBackend() === 'webgl') {
      this._sharing = SharedWebGlBackend.start(gl).then(
        (shared) => (this._shared = shared),
        (error: Error) => {
          console.warn(`<nst-video>: frames are read back from tfjs (sharing the WebGL context failed: ${error.message})`);
          return null;
        },
      );
    }
    const shared = this._sharing ? await this._sharing : null;
    return shared?.active ? shared : null;
  }

  /** True once tfjs has run on this renderer's context: its tensors die with the presenter. */
  get sharesTfjs(): boolean {
    return this._shared !== null;
  }

  /** The WebGL2 context frames are drawn with; null when presenting through WebGPU. */
  get gl(): WebGL2RenderingContext | null {
    return this.choice.api === 'webgl2' ? ((this.renderer.backend as unknown as { gl?: WebGL2RenderingContext }).gl ?? null) : null;
  }

  /**
   * Puts the GL state where tfjs's WebGL backend expects it before it runs on the shared context
   * (tfjs sets these once, when it creates a context of its own).
   */
  prepareForTfjs(): void {
    const gl = this.gl;
    if (!gl) return;
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    gl.disable(gl.DEPTH_TEST);
    gl.disable(gl.STENCIL_TEST);
    gl.disable(gl.BLEND);
    gl.disable(gl.DITHER);
    gl.disable(gl.POLYGON_OFFSET_FILL);
    gl.disable(gl.SAMPLE_COVERAGE);
    gl.enable(gl.SCISSOR_TEST);
    gl.enable(gl.CULL_FACE);
    gl.cullFace(gl.BACK);
    gl.colorMask(true, true, true, true);
    gl.pixelStorei(gl.UNPACK_FLIP_Y_WEBGL, false);
    gl.pixelStorei(gl.UNPACK_PREMULTIPLY_ALPHA_WEBGL, false);
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 4);
  }

  /** Lets go of the frame textures and the temporal history (the source changed). */
  releaseFrames(): void {
    this._styled?.dispose();
    this._styled = null;
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
    this._styled?.dispose();
    this._original?.dispose();
    this._originalBitmap?.close();
    this._shared?.remove();
    this._device?.remove();
    this.renderer.dispose();
  }

  /**
   * On WebGPU a chain's pipelines are bound to the sample type of the texture it first drew
   * (RGBA8 filterable, rgba32float not): when frames switch between the readback and the
   * zero-copy route, a new chain is made (the temporal history starts again).
   */
  private _useChainFor(input: 'pixels' | 'gpu'): void {
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

  private _setStyled(pixels: StyledPixels): DataTexture {
    const current = this._styled;
    if (current && current.image.width === pixels.width && current.image.height === pixels.height) {
      current.image.data = pixels.data;
      current.needsUpdate = true;
      return current;
    }
    current?.dispose();
    const texture = pixelFrameTexture(pixels);
    this._styled = texture;
    return texture;
  }
}

/** A three.js texture wrapping a styled frame that is already on the GPU (not copied). */
export function gpuFrameTexture(styled: StyledGpuTexture): ExternalTexture {
  const texture = new ExternalTexture(styled.texture);
  texture.type = FloatType;
  texture.format = RGBAFormat;
  (texture as unknown as { image: { width: number; height: number } }).image = { width: styled.width, height: styled.height };
  return frameTexture(texture);
}

/** A three.js texture for styled pixels read back from tfjs (RGBA8, first row at the top). */
export function pixelFrameTexture(pixels: StyledPixels): DataTexture {
  const texture = frameTexture(new DataTexture(pixels.data, pixels.width, pixels.height, RGBAFormat, UnsignedByteType));
  texture.needsUpdate = true;
  return texture;
}

function frameTexture<T extends Texture>(texture: T): T {
  texture.colorSpace = NoColorSpace;
  texture.minFilter = LinearFilter;
  texture.magFilter = LinearFilter;
  texture.generateMipmaps = false;
  texture.flipY = false;
  return texture;
}
