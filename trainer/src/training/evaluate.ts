/**
 * `nst eval`: the mean style and content loss of a model's outputs on a set of photos, with the
 * same VGG19 layers and loss definitions as training (unweighted, and weighted with the weights the
 * model was trained with when its record has them), beside the style loss of the unchanged photos
 * (the identity): how much of the gap to the painting's style the model closes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { join } from 'node:path';
import type { StyleModel } from 'nst-video/model';
import { listImages, loadSquareCrop, loadStyleImage, styleImageSize, type StyleImageSize } from './dataset.js';
import type { VggTap } from './defaults.js';
import { contentTargets, perceptualLoss, photoStyleLoss, styleTargets, type LossConfig } from './losses.js';
import { VggFeatures } from './vgg.js';

export interface EvaluateOptions {
  style: string;
  content: string;
  vgg: string;
  size: number;
  /** Short side of the style image (default: `size`); or give its long side. */
  styleSize?: number;
  styleLongSide?: number;
  contentLayer: VggTap;
  styleLayers: VggTap[];
  limit: number;
}

export interface EvaluationResult {
  photos: number;
  unreadable: number;
  size: number;
  styleImage: StyleImageSize & { width: number; height: number };
  contentLayer: VggTap;
  styleLayers: VggTap[];
  /** Mean over photos of the style loss (sum over layers of mean squared Gram difference). */
  styleLoss: number;
  /** Mean over photos of the mean squared content-layer feature difference. */
  contentLoss: number;
  /** The same style loss for the unchanged photos. */
  identityStyleLoss: number;
  /** styleLoss as a percentage of identityStyleLoss: 100 = no closer to the painting than the photo. */
  stylePercentOfIdentity: number;
}

/** Runs `model` on centre crops of the first `limit` photos (sorted by path) and scores the outputs. */
export async function evaluateModel(model: StyleModel, options: EvaluateOptions): Promise<EvaluationResult> {
  const files = (await listImages(options.content)).slice(0, options.limit);
  const styleSize = styleImageSize(options);
  const vgg = await VggFeatures.load(options.vgg);
  const styleImage = await loadStyleImage(options.style, styleSize);
  const [, styleHeight, styleWidth] = styleImage.shape;
  const grams = styleTargets(vgg, styleImage, options.styleLayers);
  styleImage.dispose();
  // Unweighted terms: the training objective with every weight 1 and no total variation.
  const config: LossConfig = { ...options, contentWeight: 1, styleWeight: 1, tvWeight: 0 };
  const sums = { style: 0, content: 0, identityStyle: 0 };
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
        const target = contentTargets(vgg, config, photo);
        const stylised = perceptualLoss(vgg, config, grams, target, model.predict(photo));
        return tf.stack([stylised.style, stylised.content, photoStyleLoss(vgg, options.styleLayers, grams, photo)]);
      });
      const [style, content, identityStyle] = Array.from(await losses.data());
      losses.dispose();
      sums.style += style;
      sums.content += content;
      sums.identityStyle += identityStyle;
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
    styleImage: { ...styleSize, width: styleWidth, height: styleHeight },
    contentLayer: options.contentLayer,
    styleLayers: options.styleLayers,
    styleLoss: sums.style / count,
    contentLoss: sums.content / count,
    identityStyleLoss: sums.identityStyle / count,
    stylePercentOfIdentity: (100 * sums.style) / sums.identityStyle,
  };
}
