/**
 * Which case a test of `auto` is in, judged as the product judges it (plugin/src/backend/gpu-probe.ts).
 * Without a hardware GPU (headless Chromium offers only SwiftShader) the network runs on wasm and
 * WebGL2 presents; with one it runs on WebGPU or WebGL, and WebGPU presents where its adapter is
 * hardware. Runs in the page: browser tests import it, Node tests load it with autoChoiceIn(page).
 */
import { probeWebGl, probeWebGpu } from '../../plugin/src/backend/gpu-probe.js';

export interface AutoChoice {
  /** The tfjs backend `auto` must pick here. */
  backend: 'webgpu' | 'webgl' | 'wasm';
  /** How <nst-video> must present frames here. */
  presentation: 'webgpu' | 'webgl2';
  /** The GPUs the browser offers, in words, for assertion messages. */
  gpus: string;
}

export async function expectedAutoChoice(): Promise<AutoChoice> {
  const webgpu = await probeWebGpu(navigator.gpu);
  const webgl = probeWebGl();
  const hardwareWebGpu = webgpu.available && !webgpu.software;
  const hardwareWebGl = webgl.available && !webgl.software;
  return {
    backend: hardwareWebGpu ? 'webgpu' : hardwareWebGl ? 'webgl' : 'wasm',
    presentation: hardwareWebGpu ? 'webgpu' : 'webgl2',
    gpus: `WebGPU: ${webgpu.description}${webgpu.software ? ' (software)' : ''}; WebGL2: ${webgl.description}${webgl.software ? ' (software)' : ''}`,
  };
}
