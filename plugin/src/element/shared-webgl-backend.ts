/**
 * Zero-copy from tfjs to three.js on WebGL2: a tfjs WebGL backend that runs on three's own GL
 * context, so the network's output texture is sampled by the shaders directly,
 * with no readback to the CPU. Registered under its own name with the stock webgl kernels.
 */
import * as tf from '@tensorflow/tfjs-core';
import { GPGPUContext, MathBackendWebGL } from '@tensorflow/tfjs-backend-webgl';

let nextId = 1;

export class SharedWebGlBackend {
  readonly name: string;
  private _removed = false;

  private constructor(name: string) {
    this.name = name;
  }

  /** Registers a tfjs backend on `gl` (three's context) and makes it the current backend. */
  static async start(gl: WebGL2RenderingContext): Promise<SharedWebGlBackend> {
    const name = `nst-webgl-shared-${nextId++}`;
    const registered = tf.registerBackend(name, () => new MathBackendWebGL(new GPGPUContext(gl)), -1);
    if (!registered) throw new Error(`tfjs refused to register the backend ${name}.`);
    for (const kernel of tf.getKernelsForBackend('webgl')) tf.registerKernel({ ...kernel, backendName: name });
    const shared = new SharedWebGlBackend(name);
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

  /**
   * The network output `rgb` ([h, w, 3], 0..255) as an RGBA float texture (0..1) on the shared
   * context. Disposes `rgb`. Call `release()` once the texture has been drawn.
   */
  toTexture(rgb: tf.Tensor3D): { texture: WebGLTexture; width: number; height: number; release: () => void } {
    const [height, width] = rgb.shape;
    const rgba = tf.tidy(() => tf.concat([tf.clipByValue(tf.div(rgb, 255), 0, 1), tf.ones([height, width, 1])], 2));
    rgb.dispose();
    const data = rgba.dataToGPU({ customTexShape: [height, width] });
    rgba.dispose();
    if (!data.texture) {
      data.tensorRef.dispose();
      throw new Error('tfjs gave no WebGL texture for the frame.');
    }
    return { texture: data.texture, width, height, release: () => data.tensorRef.dispose() };
  }

  /** Switches tfjs back to its own WebGL backend and unregisters this one. */
  remove(): void {
    if (this._removed) return;
    this._removed = true;
    for (const kernel of tf.getKernelsForBackend(this.name)) tf.unregisterKernel(kernel.kernelName, this.name);
    if (tf.getBackend() === this.name) void tf.setBackend('webgl');
    tf.removeBackend(this.name);
  }
}
