/**
 * `--content-weight auto`: the content weight in proportion to how far photos' Gram matrices are
 * from the painting's (the style loss of unchanged photos, the "identity" that `nst eval` reports),
 * so that style and content keep the same balance whatever the painting. The style loss of a busy,
 * high-contrast painting is several times a calm one's at the same likeness (starry_night's
 * identity is 4.9x the_scream's on the same photos), so a weight that suits one either drowns the
 * content of the other or leaves it barely painted.
 */
import * as tf from '@tensorflow/tfjs-core';
import { join } from 'node:path';
import { loadSquareCrop } from './dataset.js';
import { AUTO_CONTENT_WEIGHT_PER_IDENTITY_LOSS, AUTO_CONTENT_WEIGHT_PHOTOS, type VggTap } from './defaults.js';
import { photoStyleLoss } from './losses.js';
import type { VggFeatures } from './vgg.js';

/** `--content-weight`: a number, or `auto` (see autoContentWeight). */
export type ContentWeightSetting = number | 'auto';

export interface AutoContentWeight {
  weight: number;
  /** Mean style loss of the unchanged photos against the painting. */
  identityStyleLoss: number;
  /** How many photos it was measured on. */
  photos: number;
}

/**
 * The content weight for the painting whose Gram matrices are `styleGrams`: the identity style loss
 * on centre crops of the first AUTO_CONTENT_WEIGHT_PHOTOS of `files` (in `directory`, unreadable
 * ones skipped) at `size` px, times AUTO_CONTENT_WEIGHT_PER_IDENTITY_LOSS.
 */
export async function autoContentWeight(
  vgg: VggFeatures,
  styleLayers: readonly VggTap[],
  styleGrams: readonly tf.Tensor3D[],
  directory: string,
  files: readonly string[],
  size: number,
): Promise<AutoContentWeight> {
  let sum = 0;
  let photos = 0;
  for (const file of files) {
    if (photos === AUTO_CONTENT_WEIGHT_PHOTOS) break;
    let pixels: Float32Array;
    try {
      pixels = await loadSquareCrop(join(directory, file), size);
    } catch {
      continue;
    }
    const loss = tf.tidy(() => photoStyleLoss(vgg, styleLayers, styleGrams, tf.tensor4d(pixels, [1, size, size, 3])));
    sum += (await loss.data())[0];
    loss.dispose();
    photos++;
  }
  if (photos === 0) throw new Error('--content-weight auto: none of the first training photos could be read; give a number instead.');
  const identityStyleLoss = sum / photos;
  return { weight: Number((AUTO_CONTENT_WEIGHT_PER_IDENTITY_LOSS * identityStyleLoss).toPrecision(3)), identityStyleLoss, photos };
}
