/**
 * TransformerNet forward pass, written once with tfjs-core ops so that the browser plugin and the
 * Node trainer (which differentiates through it) run exactly the same network.
 *
 * Layout is NHWC. The input is RGB in 0..255 and so is the output.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  INSTANCE_NORM_EPSILON,
  type TransformerArchitecture,
  elementCount,
  transformerWeightSpecs,
} from './architecture.js';

/** Weights by their stable name (see `transformerWeightSpecs`). Variables work too, for training. */
export type TransformerWeights = ReadonlyMap<string, tf.Tensor>;

/**
 * Runs the network on a batch. `images` is [batch, height, width, 3] in 0..255 with height and
 * width multiples of 4 (use `StyleModel` for arbitrary sizes). The caller owns the result; every
 * intermediate tensor is released here, layer by layer.
 */
export function transformerForward(
  weights: TransformerWeights,
  arch: TransformerArchitecture,
  images: tf.Tensor4D,
): tf.Tensor4D {
  const w = (name: string) => {
    const tensor = weights.get(name);
    if (!tensor) throw new Error(`TransformerNet: weight "${name}" is missing.`);
    return tensor;
  };
  const convNormRelu = (conv: string, norm: string, stride: 1 | 2) => (x: tf.Tensor4D) =>
    instanceNorm(reflectConv(x, w(`${conv}/kernel`), stride), w(`${norm}/scale`), w(`${norm}/offset`), { relu: true });
  const residualBlock = (block: number) => (x: tf.Tensor4D) => {
    const y = convNormRelu(`res${block}/conv1`, `res${block}/in1`, 1)(x);
    const z = instanceNorm(reflectConv(y, w(`res${block}/conv2/kernel`), 1), w(`res${block}/in2/scale`), w(`res${block}/in2/offset`));
    return tf.add(x, z) as tf.Tensor4D;
  };
  const layers: ((x: tf.Tensor4D) => tf.Tensor4D)[] = [
    // Scaling to 0..1 keeps the first layer's activations in the range its init expects.
    (x) => convNormRelu('conv1', 'in1', 1)(tf.mul(x, 1 / 255) as tf.Tensor4D),
    convNormRelu('conv2', 'in2', 2),
    convNormRelu('conv3', 'in3', 2),
    ...Array.from({ length: arch.residualBlocks }, (_, i) => residualBlock(i + 1)),
    (x) => convNormRelu('up1', 'in4', 1)(upsampleNearest2x(x)),
    (x) => convNormRelu('up2', 'in5', 1)(upsampleNearest2x(x)),
    (x) => {
      const logits = tf.add(reflectConv(x, w('conv_out/kernel'), 1), w('conv_out/bias'));
      // A sigmoid bounds the output without the dead gradients of a clamp.
      return tf.mul(tf.sigmoid(logits), 255) as tf.Tensor4D;
    },
  ];
  // One tidy per layer frees each layer's temporaries as soon as it is done, so peak memory is a
  // few activations rather than all of them. Gradients still work: tfjs keeps its own copies of
  // the tensors that backpropagation needs.
  let x = images;
  for (const layer of layers) {
    const input = x;
    x = tf.tidy(() => layer(input));
    if (input !== images) input.dispose();
  }
  return x;
}

/** Reflect-padded "same" convolution (PyTorch's ReflectionPad2d(k // 2) + Conv2d). */
export function reflectConv(x: tf.Tensor4D, kernel: tf.Tensor, stride: 1 | 2): tf.Tensor4D {
  const pad = Math.floor(kernel.shape[0] / 2);
  const padded = tf.mirrorPad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]], 'reflect');
  return tf.conv2d(padded, kernel as tf.Tensor4D, stride, 'valid');
}

/**
 * The kernel a backend may register to run `instanceNorm` in one pass: inputs x, scale, offset;
 * attributes epsilon and relu; output relu?(the normalised x). The trainer's native kernels do
 * (with its gradient), where composed ops are ~15 full-size passes; elsewhere the ops below run.
 */
export const FUSED_INSTANCE_NORM_KERNEL = 'NstInstanceNorm';

/** Per-image, per-channel normalisation with a learned scale and offset, then a ReLU if `relu`. */
export function instanceNorm(x: tf.Tensor4D, scale: tf.Tensor, offset: tf.Tensor, { relu = false } = {}): tf.Tensor4D {
  if (tf.getKernel(FUSED_INSTANCE_NORM_KERNEL, tf.getBackend())) {
    return tf.engine().runKernel(FUSED_INSTANCE_NORM_KERNEL, { x, scale, offset }, { epsilon: INSTANCE_NORM_EPSILON, relu }) as tf.Tensor4D;
  }
  // tf.moments over [1, 2], with a faster mean on wasm. Not squaredDifference: tfjs 4.22's gradient
  // of it does not sum over broadcast dimensions (a [N,1,1,C] mean gets an [N,H,W,C] gradient).
  const mean = spatialMean(x);
  const variance = spatialMean(tf.square(tf.sub(x, mean)) as tf.Tensor4D);
  // (x - mean) / std * scale + offset, folded into one multiply-add over the full-size tensor:
  // the per-channel factors are [N, 1, 1, C] and cost nothing.
  const factor = tf.mul(tf.rsqrt(tf.add(variance, INSTANCE_NORM_EPSILON)), scale);
  const shift = tf.sub(offset, tf.mul(mean, factor));
  const normalised = tf.add(tf.mul(x, factor), shift) as tf.Tensor4D;
  return relu ? tf.relu(normalised) : normalised;
}

/**
 * Mean over height and width, [N, H, W, C] -> [N, 1, 1, C]. On wasm this is a global average pool
 * with a broadcast as its gradient: XNNPACK's pooling reads NHWC as it lies (0.1 ms at 256x256x16),
 * where tf.mean first transposes the channels innermost (1.3 ms), and tfjs's AvgPoolGrad on wasm
 * loops over the whole window per pixel (~1 s). GPU backends reduce in parallel passes: tf.mean.
 */
export function spatialMean(x: tf.Tensor4D): tf.Tensor4D {
  if (tf.getBackend() !== 'wasm') return tf.mean(x, [1, 2], true) as tf.Tensor4D;
  const [, height, width] = x.shape;
  const pooled = tf.customGrad(((input: tf.Tensor4D) => ({
    value: tf.avgPool(input, [height, width], 1, 'valid'),
    // Added to zeros rather than tf.broadcastTo, which is a Tile on wasm: 16x slower (100 vs 6 ms at 256x256x32).
    gradFunc: (dy: tf.Tensor4D) => tf.add(tf.zerosLike(input), tf.div(dy, height * width)),
  })) as unknown as Parameters<typeof tf.customGrad<tf.Tensor4D>>[0]);
  return pooled(x) as tf.Tensor4D;
}

/**
 * Nearest-neighbour 2x upsampling built from reshape and concat. Unlike
 * `tf.image.resizeNearestNeighbor` its gradient is right on every backend: the cpu backend's
 * ResizeNearestNeighborGrad is wrong for batch > 1 and wasm has none. The gradient is each 2x2
 * block's sum, as an average pool times 4: the concats' own gradients (SplitV) take 70 ms each on
 * wasm at 256 px, the pool 2 ms.
 */
export function upsampleNearest2x(x: tf.Tensor4D): tf.Tensor4D {
  const upsample = tf.customGrad(((input: tf.Tensor4D) => ({
    value: duplicateRowsAndColumns(input),
    gradFunc: (dy: tf.Tensor4D) => tf.mul(tf.avgPool(dy, 2, 2, 'valid'), 4),
  })) as unknown as Parameters<typeof tf.customGrad<tf.Tensor4D>>[0]);
  return upsample(x) as tf.Tensor4D;
}

function duplicateRowsAndColumns(x: tf.Tensor4D): tf.Tensor4D {
  const [batch, height, width, channels] = x.shape;
  // Duplicate every column: [B*H, W, 1, C] -> [B*H, W, 2, C] -> [B, H, 2W, C].
  const columns = tf.reshape(x, [batch * height, width, 1, channels]);
  const wide = tf.reshape(tf.concat([columns, columns], 2), [batch, height, 1, 2 * width * channels]);
  // Duplicate every row: [B, H, 1, 2WC] -> [B, H, 2, 2WC] -> [B, 2H, 2W, C].
  return tf.reshape(tf.concat([wide, wide], 2), [batch, 2 * height, 2 * width, channels]);
}

/**
 * Fresh weights for a new network, reproducible from `seed`. Kernels use PyTorch's Conv2d default
 * (uniform in ±1/sqrt(fan_in)), norms start as the identity, so a new network trains like the
 * reference implementation.
 */
export function initialTransformerWeights(arch: TransformerArchitecture, seed: number): Map<string, Float32Array> {
  const random = seededRandom(seed);
  const weights = new Map<string, Float32Array>();
  for (const spec of transformerWeightSpecs(arch)) {
    const values = new Float32Array(elementCount(spec.shape));
    if (spec.init === 'ones') values.fill(1);
    if (spec.init === 'conv-kernel') {
      const [kh, kw, cin] = spec.shape;
      const bound = 1 / Math.sqrt(kh * kw * cin);
      for (let i = 0; i < values.length; i++) values[i] = (random() * 2 - 1) * bound;
    }
    weights.set(spec.name, values);
  }
  return weights;
}

/** mulberry32: a small, fast, seedable PRNG returning floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
