/**
 * One Adam update of one variable as a single kernel, NstAdamUpdate: inputs variable, m, v and
 * gradient (float32, one shape), outputs the new variable, m and v. Composed from tfjs ops
 * (training/adam.ts, on every other backend) an update is 14 passes, each a kernel call that
 * writes a full-size tensor; for the `full` network's 47 variables (1.7 M weights) that is ~30 ms a
 * step on wasm, where this is one pass (in JavaScript here; natively, on every thread, where
 * nst-native is built: native-kernels.ts takes the name).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { WasmHeap } from './wasm-heap.js';

type TensorInfo = tf.TensorInfo;

export const ADAM_UPDATE_KERNEL = 'NstAdamUpdate';

/** The update's numbers: the rate, Adam's constants and this step's bias corrections 1 - beta^t. */
export interface AdamUpdateAttrs {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  correction1: number;
  correction2: number;
}

/** m' = b1 m + (1 - b1) g, v' = b2 v + (1 - b2) g^2, w' = w - lr (m'/c1) / (sqrt(v'/c2) + eps). */
export function adamUpdateInJs(args: { inputs: tf.NamedTensorInfoMap; backend: object; attrs?: tf.NamedAttrMap }): TensorInfo[] {
  const { variable, m, v, gradient } = args.inputs as Record<'variable' | 'm' | 'v' | 'gradient', TensorInfo>;
  const { learningRate, beta1, beta2, epsilon, correction1, correction2 } = args.attrs as unknown as AdamUpdateAttrs;
  const heap = args.backend as WasmHeap;
  const outputs = [variable, m, v].map((info) => heap.makeOutput(info.shape, 'float32'));
  const [w, m0, v0, g] = [variable, m, v, gradient].map((info) => heap.typedArrayFromHeap(info));
  const [w1, m1, v1] = outputs.map((info) => heap.typedArrayFromHeap(info));
  for (let i = 0; i < w.length; i++) {
    const moment = beta1 * m0[i] + (1 - beta1) * g[i];
    const square = beta2 * v0[i] + (1 - beta2) * g[i] * g[i];
    m1[i] = moment;
    v1[i] = square;
    w1[i] = w[i] - (learningRate * (moment / correction1)) / (Math.sqrt(square / correction2) + epsilon);
  }
  return outputs;
}

/** Registers the JavaScript kernel for `backendName` (default wasm). Safe to call more than once. */
export function registerAdamUpdate(backendName = 'wasm'): void {
  if (tf.getKernel(ADAM_UPDATE_KERNEL, backendName)) return;
  tf.registerKernel({ kernelName: ADAM_UPDATE_KERNEL, backendName, kernelFunc: adamUpdateInJs as unknown as tf.KernelFunc });
}
