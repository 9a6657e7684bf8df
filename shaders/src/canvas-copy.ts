// Copying what a renderer's canvas shows into a render target. A pass whose result is both shown
// and kept (the temporal smoothing's, when nothing comes after it) can then draw once, straight
// into the canvas, instead of into a target and again from there: on a software GPU (SwiftShader,
// what a browser without a usable GPU draws WebGL with) a blit costs a fraction of a pass.
import { UnsignedByteType } from 'three/webgpu';
import type { RenderTarget, Renderer } from 'three/webgpu';

/** What of three's WebGL2 backend the copy uses (three's own copyFramebufferToTexture needs a draw in progress). */
interface WebGlBackend {
  readonly isWebGLBackend: true;
  readonly gl: WebGL2RenderingContext;
  /** Binds through three's state cache, so that three's later binds are not skipped wrongly. */
  readonly state: { bindFramebuffer(target: number, framebuffer: WebGLFramebuffer | null): boolean };
  get(object: object): { textureGPU?: WebGLTexture };
}

function webGlBackendOf(renderer: Renderer): WebGlBackend | null {
  const backend = renderer.backend as unknown as Partial<WebGlBackend>;
  return backend.isWebGLBackend === true ? (backend as WebGlBackend) : null;
}

/** One framebuffer per context to attach the copy's destination to. */
const copyFramebuffers = new WeakMap<WebGL2RenderingContext, WebGLFramebuffer>();

/**
 * Whether `copyCanvasTo` works with this renderer: on the WebGL2 backend, and only while the
 * canvas holds exactly what a pass draws (no tone mapping, no output colour conversion: three
 * then draws into the canvas directly, not into a framebuffer target of its own).
 */
export function canCopyCanvas(renderer: Renderer): boolean {
  return webGlBackendOf(renderer) !== null && !renderer.needsFrameBufferTarget;
}

/**
 * Copies the canvas's drawing buffer into `target` (8-bit RGBA, the canvas's size), in the row
 * order a pass drawing into `target` would give it. Call it only where `canCopyCanvas`.
 */
export function copyCanvasTo(renderer: Renderer, target: RenderTarget): void {
  const backend = webGlBackendOf(renderer);
  if (!backend) throw new Error('copyCanvasTo needs the WebGL2 backend; check canCopyCanvas(renderer) first.');
  // A blit copies between 8-bit formats only (the canvas's is one).
  if (target.texture.type !== UnsignedByteType) throw new Error(`copyCanvasTo: the render target "${target.texture.name}" must be 8-bit (UnsignedByteType).`);
  renderer.initRenderTarget(target);
  const { gl, state } = backend;
  const texture = backend.get(target.texture).textureGPU;
  if (!texture) throw new Error(`copyCanvasTo: the render target "${target.texture.name}" has no WebGL texture.`);
  let framebuffer = copyFramebuffers.get(gl);
  if (!framebuffer) {
    framebuffer = gl.createFramebuffer();
    copyFramebuffers.set(gl, framebuffer);
  }
  state.bindFramebuffer(gl.READ_FRAMEBUFFER, null);
  state.bindFramebuffer(gl.DRAW_FRAMEBUFFER, framebuffer);
  gl.framebufferTexture2D(gl.DRAW_FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, texture, 0);
  // Both sides count rows from the bottom, as every WebGL framebuffer does: rows stay where a
  // draw into the target would have put them. The canvas may have no alpha channel; a blit
  // between 8-bit formats fills it with 1.
  const { width, height } = target;
  gl.blitFramebuffer(0, 0, width, height, 0, 0, width, height, gl.COLOR_BUFFER_BIT, gl.NEAREST);
  state.bindFramebuffer(gl.DRAW_FRAMEBUFFER, null);
}
