/**
 * Is there a hardware GPU behind this browser's WebGPU and WebGL2? A software rasteriser
 * (SwiftShader, lavapipe, llvmpipe: what a browser falls back to without a usable GPU) runs the
 * network 10-60x slower than wasm's SIMD code and cannot present WebGPU to a canvas, so the
 * backend and the presentation choices both skip it.
 *
 * No tfjs in this module: tests load it into a page on its own to learn which case they are in.
 */

export interface GpuProbe {
  available: boolean;
  software: boolean;
  /** The adapter or renderer as the browser names it, or why there is none. */
  description: string;
}

const SOFTWARE_GPU = /swiftshader|llvmpipe|lavapipe|software|basic render/i;

/** Whether an adapter or renderer name is a software rasteriser's (the rule the browser and `nst` share). */
export function isSoftwareGpu(description: string): boolean {
  return SOFTWARE_GPU.test(description);
}

/** The WebGPU adapter of `gpu` (a window's navigator.gpu). */
export async function probeWebGpu(gpu: GPU | undefined): Promise<GpuProbe> {
  if (!gpu) return { available: false, software: false, description: 'navigator.gpu is missing (WebGPU is off or unsupported in this browser)' };
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' }).catch(() => null);
  if (!adapter) return { available: false, software: false, description: 'the browser offers no WebGPU adapter' };
  const info = adapter.info ?? ({} as GPUAdapterInfo);
  const description = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'unnamed adapter';
  const fallback = Boolean((info as { isFallbackAdapter?: boolean }).isFallbackAdapter ?? (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter);
  return { available: true, software: fallback || isSoftwareGpu(description), description };
}

/** The renderer behind a WebGL2 context (its unmasked name where the browser gives it). */
export function probeWebGl(): GpuProbe {
  const canvas = typeof OffscreenCanvas !== 'undefined' ? new OffscreenCanvas(1, 1) : document.createElement('canvas');
  const gl = canvas.getContext('webgl2') as WebGL2RenderingContext | null;
  if (!gl) return { available: false, software: false, description: 'no WebGL2 context' };
  const renderer = webGlRendererName(gl);
  gl.getExtension('WEBGL_lose_context')?.loseContext();
  return { available: true, software: isSoftwareGpu(renderer), description: renderer };
}

/** The renderer behind `gl`, unmasked where the browser allows it ("ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device ...))"). */
export function webGlRendererName(gl: WebGL2RenderingContext): string {
  const debugInfo = gl.getExtension('WEBGL_debug_renderer_info');
  return String(gl.getParameter(debugInfo ? debugInfo.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
}
