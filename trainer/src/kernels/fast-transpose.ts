/**
 * A faster Transpose for the wasm backend, for the transposes training is made of.
 *
 * tfjs-backend-wasm 4.22 transposes a matrix with a plain loop that writes a whole column of the
 * result per row of the input: a [65536, 64] feature map (relu1_1 at 256 px, before its Gram
 * matrix) takes 50-90 ms, longer than the matrix product it feeds (31 ms). Copied here in square
 * tiles, so that reads and writes both stay in cache, it takes 7 ms.
 *
 * Every permutation is first reduced: axes of size 1 are dropped and axes that stay neighbours
 * are merged. What is left is handled here when it is a (batched) matrix transpose, [A, B, C] ->
 * [B, A, C] with C contiguous floats moved at once, or no move at all; any other permutation
 * goes to the backend's own kernel, as do non-float tensors.
 */
import * as tf from '@tensorflow/tfjs-core';
import { overrideKernel } from './override-kernel.js';
import type { WasmHeap } from './wasm-heap.js';

type TensorInfo = tf.TensorInfo;

/** Side of the square tiles a matrix is transposed in: 32x32 floats, 4 KiB, measured fastest (8: 11.7 ms, 16: 10.5, 32: 7.0). */
const TILE = 32;

/** The shape and permutation with size-1 axes dropped and axes that stay neighbours merged. */
export function reducePermutation(shape: readonly number[], perm: readonly number[]): { shape: number[]; perm: number[] } {
  const kept = perm.filter((axis) => shape[axis] !== 1);
  // Renumber the kept input axes 0..n-1 in input order.
  const order = [...kept].sort((a, b) => a - b);
  const renumbered = kept.map((axis) => order.indexOf(axis));
  const sizes = order.map((axis) => shape[axis]);
  // Merge runs of output axes that read consecutive input axes.
  const groups: number[][] = [];
  for (const axis of renumbered) {
    const last = groups[groups.length - 1];
    if (last && last[last.length - 1] + 1 === axis) last.push(axis);
    else groups.push([axis]);
  }
  const byInput = [...groups].sort((a, b) => a[0] - b[0]);
  return {
    shape: byInput.map((group) => group.reduce((size, axis) => size * sizes[axis], 1)),
    perm: groups.map((group) => byInput.indexOf(group)),
  };
}

/** out[b, j, i] = input[b, i, j] for `batches` matrices of rows x columns, in tiles. */
function transposeMatrices(input: Float32Array, out: Float32Array, batches: number, rows: number, columns: number): void {
  for (let b = 0; b < batches; b++) {
    const base = b * rows * columns;
    for (let i0 = 0; i0 < rows; i0 += TILE) {
      const iEnd = Math.min(i0 + TILE, rows);
      for (let j0 = 0; j0 < columns; j0 += TILE) {
        const jEnd = Math.min(j0 + TILE, columns);
        for (let j = j0; j < jEnd; j++) {
          const target = base + j * rows;
          for (let i = i0; i < iEnd; i++) out[target + i] = input[base + i * columns + j];
        }
      }
    }
  }
}

/** [A, B, C] -> [B, A, C], moving C floats at a time. */
function swapOuterAxes(input: Float32Array, out: Float32Array, a: number, b: number, c: number): void {
  for (let i = 0; i < a; i++) {
    for (let j = 0; j < b; j++) out.set(input.subarray((i * b + j) * c, (i * b + j + 1) * c), (j * a + i) * c);
  }
}

/** Blocks smaller than this are moved by the backend's kernel: a subarray per few floats costs more than it saves. */
const MIN_BLOCK_FLOATS = 16;

/**
 * Puts a Transpose in front of `backendName`'s that handles matrix transposes itself and hands
 * everything else to the kernel it replaces. Safe to call more than once.
 */
export function registerFastTranspose(backendName = 'wasm'): void {
  overrideKernel('Transpose', backendName, 'fastTranspose', (args) => {
    const x = args.inputs.x as TensorInfo;
    const perm = (args.attrs as unknown as { perm: number[] }).perm;
    const reduced = reducePermutation(x.shape, perm);
    const kind = reduced.perm.join();
    const handled =
      x.dtype === 'float32' &&
      (kind === '' || kind === '0' || kind === '1,0' || kind === '0,2,1' || (kind === '1,0,2' && reduced.shape[2] >= MIN_BLOCK_FLOATS));
    if (!handled) return undefined;
    const backend = args.backend as unknown as WasmHeap;
    const out = backend.makeOutput(perm.map((axis) => x.shape[axis]), 'float32');
    // Views taken after the allocation: growing the heap detaches earlier ones.
    const source = backend.typedArrayFromHeap(x);
    const target = backend.typedArrayFromHeap(out);
    const s = reduced.shape;
    if (kind === '' || kind === '0') target.set(source);
    else if (kind === '1,0') transposeMatrices(source, target, 1, s[0], s[1]);
    else if (kind === '0,2,1') transposeMatrices(source, target, s[0], s[1], s[2]);
    else swapOuterAxes(source, target, s[0], s[1], s[2]);
    return out;
  });
}
