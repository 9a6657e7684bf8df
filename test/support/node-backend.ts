/** Test helper: switch tfjs to a Node backend and report tensors left behind. */
import * as tf from '@tensorflow/tfjs-core';
import { selectNodeBackend, type NodeBackendName } from '../../trainer/src/node-backend.js';

export async function useBackend(name: NodeBackendName): Promise<void> {
  await selectNodeBackend(name);
}

export { tf };
