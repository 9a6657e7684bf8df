/**
 * A correct gradient for MirrorPad. tfjs-core 4.22's is `slice(dy)`: it drops what flowed into the
 * mirrored border pixels, so every reflect-padded conv of the TransformerNet (all of them) gets a
 * wrong gradient for the pixels next to the image edge (seen as a finite-difference mismatch on
 * the first conv's kernel). Here the border gradients are flipped back and added where they came
 * from.
 *
 * For an axis of length n padded by (before, after): in `reflect` mode padded position p < before
 * copies x[before - p] and position before+n+j copies x[n-2-j]; in `symmetric` mode x[before-1-p]
 * and x[n-1-j].
 */
import * as tf from '@tensorflow/tfjs-core';
import { FAST_MIRROR_PAD_GRADIENT, hasFastGradient } from './fast-gradients.js';

export function mirrorPadGradient(dy: tf.Tensor, xShape: readonly number[], paddings: readonly (readonly [number, number])[], mode: 'reflect' | 'symmetric'): tf.Tensor {
  return tf.tidy(() => {
    let g = dy;
    const edge = mode === 'reflect' ? 1 : 0;
    paddings.forEach(([before, after], axis) => {
      if (before === 0 && after === 0) return;
      const n = xShape[axis];
      const size = (length: number) => g.shape.map((d, i) => (i === axis ? length : d));
      const begin = (start: number) => g.shape.map((_, i) => (i === axis ? start : 0));
      const zeroPad = (t: tf.Tensor, lo: number, hi: number) => tf.pad(t, t.shape.map((_, i) => (i === axis ? [lo, hi] : [0, 0])) as [number, number][]);
      let result = tf.slice(g, begin(before), size(n));
      if (before > 0) {
        const left = tf.reverse(tf.slice(g, begin(0), size(before)), axis);
        result = tf.add(result, zeroPad(left, edge, n - edge - before));
      }
      if (after > 0) {
        const right = tf.reverse(tf.slice(g, begin(before + n), size(after)), axis);
        const start = n - edge - after;
        result = tf.add(result, zeroPad(right, start, n - start - after));
      }
      g = result;
    });
    return g;
  });
}

/** Replaces tfjs-core's MirrorPad gradient (process-wide, all backends). */
export function registerMirrorPadGradient(): void {
  tf.registerGradient({
    kernelName: 'MirrorPad',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      const { paddings, mode } = attrs as unknown as { paddings: [number, number][]; mode: 'reflect' | 'symmetric' };
      // The one-pass kernel (fast-gradients.ts) takes images padded on height and width, as the TransformerNet's are.
      const imagePadding = x.rank === 4 && [paddings[0], paddings[3]].every(([before, after]) => before === 0 && after === 0);
      if (imagePadding && hasFastGradient(FAST_MIRROR_PAD_GRADIENT)) {
        return { x: () => tf.engine().runKernel(FAST_MIRROR_PAD_GRADIENT, { dy: dy as tf.Tensor }, { xShape: x.shape, paddings, mode } as unknown as tf.NamedAttrMap) as tf.Tensor };
      }
      return { x: () => mirrorPadGradient(dy as tf.Tensor, x.shape, paddings, mode) };
    },
  });
}
