/** Test helper: switch tfjs to a Node backend and report tensors left behind. */
import * as tf from '@tensorflow/tfjs-core';
import { selectNodeBackend, type NodeBackendName } from '../../trainer/src/node-backend.js';

export async function useBackend(name: NodeBackendName): Promise<void> {
  await selectNodeBackend(name);
}

/**
 * Switches to WebGPU (a hardware GPU, or the lavapipe of `npm run setup:vulkan`) and returns
 * undefined, or returns why it is not available here: the reason a WebGPU test skips with.
 */
export async function useWebGpuOrWhyNot(): Promise<string | undefined> {
  try {
    await selectNodeBackend('webgpu');
    return undefined;
  } catch (error) {
    return `${(error as Error).message} (npm run setup:vulkan gives this machine a software one)`;
  }
}

export { tf };
