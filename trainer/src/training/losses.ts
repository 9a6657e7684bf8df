/**
 * Perceptual losses of Johnson et al. 2016 (after Gatys et al. 2015), on VGG19 features.
 * All of them are means over the batch, so a batch can be split into micro-batches and their
 * losses (and gradients) averaged with weights micro/batch.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { VggTap } from './defaults.js';
import type { VggFeatures } from './vgg.js';

/**
 * Gram matrices [b, C, C] of features [b, H, W, C], divided by C*H*W.
 *
 * The transpose is made explicit, with a hand-written gradient (dF = F (dG + dG^T) / N), because
 * the wasm backend's BatchMatMul is 20-50x slower with `transposeA` than on contiguous operands
 * (relu4_1 at 128 px: 92 ms vs 2 ms), and so is the gradient tfjs derives for it;
 * `gramMatrixReference` is the plain form the tests compare against.
 */
export function gramMatrix(features: tf.Tensor4D): tf.Tensor3D {
  const [b, h, w, c] = features.shape;
  const n = c * h * w;
  const gram = tf.customGrad(((f: tf.Tensor, save: tf.GradSaveFunc) => {
    const flat = tf.reshape(f, [b, h * w, c]) as tf.Tensor3D;
    save([flat]);
    return {
      value: tf.div(tf.matMul(tf.transpose(flat, [0, 2, 1]), flat), n) as tf.Tensor3D,
      gradFunc: (dy: tf.Tensor, [saved]: tf.Tensor[]) => {
        const symmetric = tf.div(tf.add(dy, tf.transpose(dy, [0, 2, 1])), n) as tf.Tensor3D;
        return [tf.reshape(tf.matMul(saved as tf.Tensor3D, symmetric), [b, h, w, c])];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad<tf.Tensor3D>>[0]);
  return tf.tidy(() => gram(features) as tf.Tensor3D);
}

/** Gram matrices by plain matMul: the definition `gramMatrix` must agree with. */
export function gramMatrixReference(features: tf.Tensor4D): tf.Tensor3D {
  return tf.tidy(() => {
    const [b, h, w, c] = features.shape;
    const flat = tf.reshape(features, [b, h * w, c]) as tf.Tensor3D;
    return tf.div(tf.matMul(flat, flat, true, false), c * h * w) as tf.Tensor3D;
  });
}

/** Mean squared difference of two feature maps of the same shape. */
export function contentLoss(features: tf.Tensor, target: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.squaredDifference(features, target)) as tf.Scalar);
}

/**
 * Sum over layers of the mean squared difference between each image's Gram matrix and the
 * style's ([1, C, C], broadcast over the batch).
 */
export function styleLoss(grams: readonly tf.Tensor3D[], targets: readonly tf.Tensor3D[]): tf.Scalar {
  return tf.tidy(() => sumOf(grams.map((gram, i) => tf.mean(tf.squaredDifference(gram, targets[i])))));
}

/** The unweighted style loss of `images` (RGB 0..255) as they are: the identity of `nst eval`. */
export function photoStyleLoss(vgg: VggFeatures, styleLayers: readonly VggTap[], styleGrams: readonly tf.Tensor3D[], images: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => {
    const features = vgg.features(images, styleLayers);
    return styleLoss(
      styleLayers.map((layer) => gramMatrix(features.get(layer)!)),
      styleGrams,
    );
  });
}

/**
 * The sum of scalars, added two at a time. Not tf.addN: on WebGPU it binds every input to one
 * shader, and WebGPU's default limit is 8 storage buffers per shader stage (lavapipe and many GPUs
 * keep it), so 9 or more inputs fail validation and silently give 0.
 */
export function sumOf(scalars: readonly tf.Scalar[]): tf.Scalar {
  return tf.tidy(() => scalars.reduce((sum, value) => tf.add(sum, value)));
}

/** Total variation: mean squared difference of vertically plus horizontally adjacent pixels. */
export function totalVariationLoss(images: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => {
    const [b, h, w, c] = images.shape;
    const down = tf.squaredDifference(tf.slice(images, [0, 1, 0, 0], [b, h - 1, w, c]), tf.slice(images, [0, 0, 0, 0], [b, h - 1, w, c]));
    const right = tf.squaredDifference(tf.slice(images, [0, 0, 1, 0], [b, h, w - 1, c]), tf.slice(images, [0, 0, 0, 0], [b, h, w - 1, c]));
    return tf.add(tf.mean(down), tf.mean(right)) as tf.Scalar;
  });
}

export interface LossConfig {
  contentLayer: VggTap;
  styleLayers: readonly VggTap[];
  contentWeight: number;
  styleWeight: number;
  tvWeight: number;
}

/** Weighted loss terms (already multiplied by their weights) and their sum. */
export interface LossTerms {
  total: tf.Scalar;
  content: tf.Scalar;
  style: tf.Scalar;
  tv: tf.Scalar;
}

/** The style's Gram matrices at `styleLayers`, each [1, C, C], kept (dispose them when done). */
export function styleTargets(vgg: VggFeatures, styleImage: tf.Tensor4D, styleLayers: readonly VggTap[]): tf.Tensor3D[] {
  return tf.tidy(() => {
    const features = vgg.features(styleImage, styleLayers);
    return styleLayers.map((layer) => tf.keep(gramMatrix(features.get(layer)!)));
  });
}

/**
 * The content photos' features at the content layer: compute them outside `tf.variableGrads`, so
 * the gradient tape does not hold this forward pass's activations.
 */
export function contentTargets(vgg: VggFeatures, config: Pick<LossConfig, 'contentLayer'>, contents: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => vgg.features(contents, [config.contentLayer]).get(config.contentLayer)!);
}

/**
 * The training objective for stylised `outputs` (RGB 0..255, [b,h,w,3]) of photos whose
 * content-layer features are `contentTarget`. Call inside `tf.tidy`/`tf.variableGrads`.
 */
export function perceptualLoss(
  vgg: VggFeatures,
  config: LossConfig,
  styleGrams: readonly tf.Tensor3D[],
  contentTarget: tf.Tensor4D,
  outputs: tf.Tensor4D,
): LossTerms {
  const taps = [...new Set([config.contentLayer, ...config.styleLayers])];
  const features = vgg.features(outputs, taps);
  const content = tf.mul(contentLoss(features.get(config.contentLayer)!, contentTarget), config.contentWeight) as tf.Scalar;
  const grams = config.styleLayers.map((layer) => gramMatrix(features.get(layer)!));
  const style = tf.mul(styleLoss(grams, styleGrams), config.styleWeight) as tf.Scalar;
  const tv = config.tvWeight > 0 ? (tf.mul(totalVariationLoss(outputs), config.tvWeight) as tf.Scalar) : tf.scalar(0);
  return { total: tf.addN([content, style, tv]) as tf.Scalar, content, style, tv };
}
