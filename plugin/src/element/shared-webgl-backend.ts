/**
 * Zero-copy from tfjs to three.js on WebGL2: a tfjs WebGL backend that runs on three's own GL
 * context, so the network's output texture is sampled by the shaders directly,
 * with no readback to the CPU. Registered under its own name with the stock webgl kernels.
 */
import * as tf from '@tensorflow/tfjs-core';
import { GPGPUContext, MathBackendWebGL } from '@tensorflow/tfjs-backend-webgl';
import { rgbaUnitFloat, type StyledWebGlTexture } from './styled-frame.js';

let nextId = 1;

export class SharedWebGlBackend {
  private _removed = false;

  private constructor(
    readonly name: string,
    private readonly _gl: WebGL2RenderingContext,
    private readonly _handBack: () => void,
  ) {}

  /**
   * Registers a tfjs backend on `gl` (three's context) and makes it the current backend.
   * `handBack` is called each time tfjs has drawn on the context, for its other user to forget
   * the GL state it had cached (three's `renderer.resetState()`).
   */
  static async start(gl: WebGL2RenderingContext, handBack: () => void): Promise<SharedWebGlBackend> {
    const name = `nst-webgl-shared-${nextId++}`;
    const registered = tf.registerBackend(name, () => new MathBackendWebGL(new GPGPUContext(gl)), -1);
    if (!registered) throw new Error(`tfjs refused to register the backend ${name}.`);
    for (const kernel of tf.getKernelsForBackend('webgl')) tf.registerKernel({ ...kernel, backendName: name });
    const shared = new SharedWebGlBackend(name, gl, handBack);
    if (!(await tf.setBackend(name))) {
      shared.remove();
      throw new Error('tfjs could not start its WebGL backend on the renderer\'s context.');
    }
    return shared;
  }

  /** True while this is tfjs's current backend (another element or page code may switch it). */
  get active(): boolean {
    return !this._removed && tf.getBackend() === this.name;
  }

  /** Runs `network` on the shared context; its output stays there, as a texture. */
  frame(network: () => tf.Tensor3D): StyledWebGlTexture {
    this._prepareForTfjs();
    try {
      const rgb = tf.tidy(network);
      const [height, width] = rgb.shape;
      const rgba = rgbaUnitFloat(rgb);
      const data = rgba.dataToGPU({ customTexShape: [height, width] });
      rgba.dispose();
      if (!data.texture) {
        data.tensorRef.dispose();
        throw new Error('tfjs gave no WebGL texture for the frame.');
      }
      return { kind: 'webgl-texture', texture: data.texture, width, height, release: () => data.tensorRef.dispose() };
    } finally {
      this._handBack();
    }
  }

  /** Switches tfjs back to its own WebGL backend and unregisters this one. */
  remove(): void {
    if (this._removed) return;
    this._removed = true;
    for (const kernel of tf.getKernelsForBackend(this.name)) tf.unregisterKernel(kernel.kernelName, this.name);
    if (tf.getBackend() === this.name) void tf.setBackend('webgl');
    tf.removeBackend(this.name);
  }

  /**
   * Puts the GL state where tfjs's WebGL backend expects it (tfjs sets these once, when it creates
   * a context of its own; three changes them between frames).
   */
  private _prepareForTfjs(): void {
    const gl = this._gl;
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
}
