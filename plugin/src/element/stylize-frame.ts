/**
 * One frame through the network, as the element's frame loop and the offline transcoder both
 * run it: an ImageBitmap in, the styled frame out, ready for `NstGpuPresenter.present()`.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BrowserStyleModel } from '../load-style-model.js';
import type { NstGpuPresenter, StyledFrame } from './gpu-presenter.js';

/**
 * Stylises `frame` at `size` (short side, px). Where tfjs can share the presenter's GPU context
 * and `zeroCopy` allows it, the output stays a texture on the GPU; otherwise it is read back as
 * RGBA8 pixels. Does not close `frame`.
 *
 * `zeroCopy: false` is for callers that do not own the model: on WebGL, sharing moves tfjs onto
 * the presenter's context, and tensors made there die with the presenter.
 */
export async function stylizeFrame(model: BrowserStyleModel, presenter: NstGpuPresenter, frame: ImageBitmap, size: number, zeroCopy = true): Promise<StyledFrame> {
  const shared = zeroCopy ? await presenter.shareWithTfjs() : null;
  if (shared) {
    presenter.prepareForTfjs();
    return shared.toTexture(tf.tidy(() => model.stylizeTensor(tf.browser.fromPixels(frame, 3), { size })));
  }
  const rgb = tf.tidy(() => model.stylizeTensor(tf.browser.fromPixels(frame, 3), { size }));
  const pixels = await model.toRgbaPixels(rgb);
  return { data: new Uint8Array(pixels.data.buffer, pixels.data.byteOffset, pixels.data.byteLength), width: pixels.width, height: pixels.height };
}
