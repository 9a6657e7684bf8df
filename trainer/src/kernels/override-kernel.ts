/**
 * Puts a handler in front of a backend's kernel, keeping the kernel it replaces for everything the
 * handler declines: how the fast Transpose (fast-transpose.ts) and the native kernels
 * (native-kernels.ts) take over the cases they do better and leave the rest as they were.
 */
import * as tf from '@tensorflow/tfjs-core';

/** What tfjs hands a kernel function. */
export type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: object; attrs?: tf.NamedAttrMap };

/**
 * Replaces `backendName`'s `kernelName` with a kernel function called `name` that runs `handle`
 * and, where it returns undefined, the kernel it replaced. A kernel already called `name` is left
 * as it is, so calling this again is harmless.
 */
export function overrideKernel(kernelName: string, backendName: string, name: string, handle: (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[] | undefined): void {
  const current = tf.getKernel(kernelName, backendName);
  if (!current) throw new Error(`${name}: the ${backendName} backend has no ${kernelName} kernel to put itself in front of.`);
  if (current.kernelFunc.name === name) return;
  const fallback = current.kernelFunc;
  // A computed key names the function, which is how a second call recognises it.
  const kernelFunc = { [name]: (args: KernelArgs) => handle(args) ?? fallback(args as never) }[name];
  tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel({ ...current, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
}
