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
import { contentLoss, gramMatrix, styleLoss, styleTargets } from './losses.js';
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
  /**
   * The style loss layer by layer (they sum to styleLoss and identityStyleLoss): where the gap to
   * the painting is left, e.g. in colour and fine texture (relu1_1, relu2_1) or in larger shapes.
   */
  styleLossByLayer: Record<string, { model: number; identity: number; percentOfIdentity: number }>;
  /** Each photo's figures, in the order read: which kinds of picture a model paints worst. */
  byPhoto: PhotoScore[];
}

export interface PhotoScore {
  file: string;
  contentLoss: number;
  styleLoss: number;
  identityStyleLoss: number;
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
  const taps = [...new Set([options.contentLayer, ...options.styleLayers])];
  // Unweighted terms, per photo: [content, style per layer of the output, style per layer of the photo].
  const scoreOne = (photo: tf.Tensor4D, output: tf.Tensor4D): tf.Tensor1D => {
    const photoFeatures = vgg.features(photo, taps);
    const outputFeatures = vgg.features(output, taps);
    const styleByLayer = (features: Map<VggTap, tf.Tensor4D>) =>
      options.styleLayers.map((layer, i) => styleLoss([gramMatrix(features.get(layer)!)], [grams[i]]));
    const content = contentLoss(outputFeatures.get(options.contentLayer)!, photoFeatures.get(options.contentLayer)!);
    return tf.stack([content, ...styleByLayer(outputFeatures), ...styleByLayer(photoFeatures)]) as tf.Tensor1D;
  };
  const layers = options.styleLayers.length;
  const sums = { content: 0, style: new Array<number>(layers).fill(0), identityStyle: new Array<number>(layers).fill(0) };
  const total = (values: number[]) => values.reduce((a, b) => a + b, 0);
  const byPhoto: PhotoScore[] = [];
  let count = 0;
  let unreadable = 0;
  try {
    for (const file of files) {
      let pixels: Float32Array;
      try {
        pixels = await loadSquareCrop(join(options.content, file), options.size);
      } catch {
        unreadable++;
        continue;
      }
      const losses = tf.tidy(() => {
        const photo = tf.tensor4d(pixels, [1, options.size, options.size, 3]);
        return scoreOne(photo, model.predict(photo));
      });
      const [content, ...style] = Array.from(await losses.data());
      losses.dispose();
      sums.content += content;
      for (let i = 0; i < layers; i++) {
        sums.style[i] += style[i];
        sums.identityStyle[i] += style[layers + i];
      }
      const [styleLoss, identityStyleLoss] = [total(style.slice(0, layers)), total(style.slice(layers))];
      byPhoto.push({ file, contentLoss: content, styleLoss, identityStyleLoss, stylePercentOfIdentity: (100 * styleLoss) / identityStyleLoss });
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
    styleLoss: total(sums.style) / count,
    contentLoss: sums.content / count,
    identityStyleLoss: total(sums.identityStyle) / count,
    stylePercentOfIdentity: (100 * total(sums.style)) / total(sums.identityStyle),
    styleLossByLayer: Object.fromEntries(
      options.styleLayers.map((layer, i) => [
        layer,
        { model: sums.style[i] / count, identity: sums.identityStyle[i] / count, percentOfIdentity: (100 * sums.style[i]) / sums.identityStyle[i] },
      ]),
    ),
    byPhoto,
  };
}
