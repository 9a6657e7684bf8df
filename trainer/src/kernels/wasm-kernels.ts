/**
 * Every kernel the trainer puts on tfjs's wasm backend, in the order they build on each other:
 * the conv gradients wasm lacks (conv2d-gradients.ts), a faster Transpose (fast-transpose.ts),
 * one-pass MirrorPad, max-pooling and ReLU gradients (fast-gradients.ts), an Identity that shares
 * rather than copies (shared-identity.ts), a one-pass Adam update (adam-update.ts), and
 * on top, where the nst-native addon is built, oneDNN's convolutions and matrix products, native
 * versions of the fast gradients and a fused instance normalisation (native-kernels.ts), which
 * keep the others for what they do not take. Safe to call again.
 */
import { registerAdamUpdate } from './adam-update.js';
import { registerComposedConvGradients } from './conv2d-gradients.js';
import { registerFastGradients } from './fast-gradients.js';
import { registerFastTranspose } from './fast-transpose.js';
import { registerNativeKernels } from './native-kernels.js';
import { registerSharedIdentity } from './shared-identity.js';

/** Registers them for `threads` threads; returns what runs the convolutions, in words. */
export function registerWasmKernels(threads: number): string {
  registerComposedConvGradients('wasm');
  registerFastTranspose('wasm');
  registerFastGradients('wasm');
  registerSharedIdentity('wasm');
  registerAdamUpdate('wasm');
  return registerNativeKernels(threads).description;
}
