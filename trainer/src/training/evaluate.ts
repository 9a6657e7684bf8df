/**
 * `nst eval`: the mean style and content loss of a model's outputs on a set of photos, with the
 * same VGG19 layers and loss definitions as training (unweighted, and weighted with the weights the
 * model was trained with when its record has them).
 */
import * as tf from '@tensorflow/tfjs-core';
import { join } from 'node:path';
import type { StyleModel } from 'nst-video/model';
import { listImages, loadSquareCrop, loadStyleImage } from './dataset.js';
import type { VggTap } from './defaults.js';
import { contentLoss, gramMatrix, styleLoss, styleTargets } from './losses.js';
import { VggFeatures } from './vgg.js';

export interface EvaluateOptions {
  style: string;
  content: string;
  vgg: string;
  size: number;
  styleSize?: number;
  contentLayer: VggTap;
  styleLayers: VggTap[];
  limit: number;
}

export interface EvaluationResult {
  photos: number;
  unreadable: number;
  size: number;
  styleSize: number;
  contentLayer: VggTap;
  styleLayers: VggTap[];
  /** Mean over photos of the style loss (sum over layers of mean squared Gram difference). */
  styleLoss: number;
  /** Mean over photos of the mean squared content-layer feature difference. */
  contentLoss: number;
}

/** Runs `model` on centre crops of the first `limit` photos (sorted by path) and scores the outputs. */
export async function evaluateModel(model: StyleModel, options: EvaluateOptions): Promise<EvaluationResult> {
  const files = (await listImages(options.content)).slice(0, options.limit);
  const styleSize = options.styleSize ?? options.size;
  const vgg = await VggFeatures.load(options.vgg);
  const styleImage = await loadStyleImage(options.style, styleSize);
  const grams = styleTargets(vgg, styleImage, options.styleLayers);
  styleImage.dispose();
  let styleSum = 0;
  let contentSum = 0;
  let count = 0;
  let unreadable = 0;
  try {
    for (const file of files) {
      let pixels: Float32Array;
      try {
        pixels = await loadSquareCrop(join(options.content, file), options.size, 0.5, 0.5, false);
      } catch {
        unreadable++;
        continue;
      }
      const losses = tf.tidy(() => {
        const photo = tf.tensor4d(pixels, [1, options.size, options.size, 3]);
        const output = model.predict(photo);
        const taps = [...new Set([options.contentLayer, ...options.styleLayers])];
        const target = vgg.features(photo, [options.contentLayer]).get(options.contentLayer)!;
        const features = vgg.features(output, taps);
        return tf.stack([
          styleLoss(options.styleLayers.map((layer) => gramMatrix(features.get(layer)!)), grams),
          contentLoss(features.get(options.contentLayer)!, target),
        ]);
      });
      const [s, c] = Array.from(await losses.data());
      losses.dispose();
      styleSum += s;
      contentSum += c;
      count++;
    }
  } finally {
    grams.forEach((g) => g.dispose());
    vgg.dispose();
  }
  if (count === 0) throw new Error(`None of the photos in "${options.content}" could be read.`);
  return {
    photos: count,
    unreadable,
    size: options.size,
    styleSize,
    contentLayer: options.contentLayer,
    styleLayers: options.styleLayers,
    styleLoss: styleSum / count,
    contentLoss: contentSum / count,
  };
}
