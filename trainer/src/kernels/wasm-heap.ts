/**
 * The wasm backend's own allocation and heap access, which its Concat kernel uses too: kernels
 * written here in JavaScript (or handed to the nst-native addon) read and write tensors where they
 * lie. A view of the heap is only good until the next allocation, which may grow the heap and
 * detach it: take views after allocating.
 */
import type * as tf from '@tensorflow/tfjs-core';

export interface WasmHeap {
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
  /** One more reference to a buffer (a kernel's output that shares its input's data). */
  incRef(dataId: tf.DataId): void;
}
