/**
 * Identity, and a Cast to the dtype a tensor already has, as a second reference to the same data
 * on the wasm backend, as tfjs's cpu and WebGL backends do, instead of a copy.
 *
 * tfjs clones (Identity) every tensor it saves for the backward pass, and the clones' gradients
 * are Casts to float32: on wasm each is a full copy, ~330 copies of activations a TransformerNet
 * step at 256 px (90 ms of 2.6 s). Tensors are immutable and the wasm backend counts references
 * per buffer (its Reshape shares data the same way), so sharing is safe.
 */
import * as tf from '@tensorflow/tfjs-core';
import { overrideKernel } from './override-kernel.js';
import type { WasmHeap } from './wasm-heap.js';

type TensorInfo = tf.TensorInfo;

function share(backend: WasmHeap, x: TensorInfo): TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/** Puts the sharing Identity and Cast in front of `backendName`'s. Safe to call again. */
export function registerSharedIdentity(backendName = 'wasm'): void {
  overrideKernel('Identity', backendName, 'sharedIdentity', ({ inputs, backend }) => {
    const { x } = inputs as { x: TensorInfo };
    return x.dtype === 'string' ? undefined : share(backend as WasmHeap, x);
  });
  overrideKernel('Cast', backendName, 'sharedCast', ({ inputs, backend, attrs }) => {
    const { x } = inputs as { x: TensorInfo };
    return x.dtype !== 'string' && x.dtype === (attrs as { dtype: string }).dtype ? share(backend as WasmHeap, x) : undefined;
  });
}
