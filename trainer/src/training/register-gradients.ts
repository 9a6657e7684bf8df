/**
 * Registers tfjs-core's gradient functions (side-effect import). tfjs-core's Node entry point ships
 * none, so without this every `tf.grads`/optimizer call fails with "gradient function not found".
 *
 * The file is ESM with extension-less imports, which Node's ESM resolver refuses; through tsx's
 * `require` (which compiles it to CommonJS) it loads. Its modules are a second copy of tfjs-core's op code, but
 * the gradient registry and the engine are process-global, so the gradients land where ops look.
 * tfjs's MirrorPad gradient is wrong and is replaced (kernels/mirror-pad-gradient.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { require as tsxRequire } from 'tsx/cjs/api';
import { registerMirrorPadGradient } from '../kernels/mirror-pad-gradient.js';

if (!tf.getGradient('Conv2D')) {
  tsxRequire('@tensorflow/tfjs-core/dist/register_all_gradients.js', import.meta.url);
}
if (!tf.getGradient('Conv2D')) {
  throw new Error('tfjs-core gradients did not register; run the trainer through tsx (bin/nst.mjs does).');
}
registerMirrorPadGradient();
