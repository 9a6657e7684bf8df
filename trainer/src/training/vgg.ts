/**
 * The loss network: VGG19's 16 conv layers (Simonyan & Zisserman 2014) run with tfjs-core ops,
 * returning named ReLU taps (relu1_1 ... relu5_4). Weights come from a TensorFlow.js layers model
 * (`model.json` + shards, as written by `nst import-vgg`, or uint8-quantised) whose
 * weights are named `blockB_convN/kernel` (HWIO) and `blockB_convN/bias`; float32, float16 and
 * uint8 (affine, per tensor) storage are decoded here, so tfjs-layers is not needed.
 *
 * Input: RGB 0..255. Keras "caffe" preprocessing: RGB -> BGR (folded into the first kernel), minus
 * the ImageNet channel means.
 */
import * as tf from '@tensorflow/tfjs-core';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { dequantizeWeights, upsampleNearest2x, type WeightQuantization } from 'nst-video/model';
import { FAST_MAX_POOL_2X2_GRADIENT, FAST_RELU_GRADIENT, hasFastGradient } from '../kernels/fast-gradients.js';
import { DEFAULT_VGG_PATH, VGG_LAYER_TAPS, type VggTap } from './defaults.js';

/** Convs per block in VGG19. */
export const VGG19_BLOCKS = [2, 2, 4, 4, 4] as const;
/** Keras caffe-mode means, in BGR order. */
export const VGG_BGR_MEAN = [103.939, 116.779, 123.68] as const;

/** Layer names in network order: block1_conv1, block1_conv2, block2_conv1, ... */
export const VGG19_LAYERS: readonly string[] = VGG19_BLOCKS.flatMap((convs, b) =>
  Array.from({ length: convs }, (_, n) => `block${b + 1}_conv${n + 1}`),
);

export function tapLayerName(tap: VggTap): string {
  const [, block, conv] = /^relu(\d)_(\d)$/.exec(tap)!;
  return `block${block}_conv${conv}`;
}

export function parseVggTap(value: string, where: string): VggTap {
  const tap = value.trim() as VggTap;
  if (!VGG_LAYER_TAPS.includes(tap)) {
    throw new Error(`${where}: "${value}" is not a VGG19 layer; use one of ${VGG_LAYER_TAPS.join(', ')}.`);
  }
  return tap;
}

interface ManifestEntry {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: WeightQuantization;
}

/** Bytes a stored value takes, by tfjs quantization dtype (float32 without one). */
const STORED_BYTES: Readonly<Record<WeightQuantization['dtype'], number>> = { float16: 2, uint8: 1, uint16: 2 };

export const VGG_HOW_TO_GET =
  'Get VGG19 with "npm run setup:vgg" (downloads the Keras VGG19 weights and converts them into the project\'s .cache/vgg19), ' +
  'or download vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5 (Keras applications release) yourself, ' +
  'run "npx nst import-vgg <that .h5> --out <dir>" and pass --vgg <dir>.';

/** --vgg's default: the project's .cache/vgg19 (npm run setup:vgg) when it exists. */
export function resolveVggPath(vgg: string | undefined): string {
  if (vgg) return vgg;
  if (existsSync(join(DEFAULT_VGG_PATH, 'model.json'))) return DEFAULT_VGG_PATH;
  throw new Error(`No VGG19 given and none at ${DEFAULT_VGG_PATH}. ${VGG_HOW_TO_GET}`);
}

/** Reads a tfjs layers model.json with VGG19 conv weights into float32 arrays, by layer. */
export async function readVggWeights(path: string): Promise<Map<string, { kernel: Float32Array; kernelShape: number[]; bias: Float32Array }>> {
  let jsonPath = resolve(path);
  try {
    if ((await stat(jsonPath)).isDirectory()) jsonPath = join(jsonPath, 'model.json');
    await stat(jsonPath);
  } catch {
    throw new Error(`VGG19 not found at "${path}". ${VGG_HOW_TO_GET}`);
  }
  const modelJson = JSON.parse(await readFile(jsonPath, 'utf8')) as { weightsManifest?: { paths: string[]; weights: ManifestEntry[] }[] };
  if (!Array.isArray(modelJson.weightsManifest)) throw new Error(`${jsonPath}: no weightsManifest; is this a TensorFlow.js model.json?`);
  const values = new Map<string, { data: Float32Array; shape: number[] }>();
  for (const group of modelJson.weightsManifest) {
    const buffers: Buffer[] = [];
    for (const shard of group.paths) {
      if (basename(shard) !== shard) throw new Error(`${jsonPath}: shard path "${shard}" must be a file next to model.json.`);
      buffers.push(await readFile(join(dirname(jsonPath), shard)));
    }
    const bytes = Buffer.concat(buffers);
    let offset = 0;
    for (const entry of group.weights) {
      const count = entry.shape.reduce((a, b) => a * b, 1);
      const decoded = decodeWeight(entry, bytes, offset, count, jsonPath);
      offset += decoded.byteLength;
      values.set(entry.name, { data: decoded.values, shape: entry.shape });
    }
    if (offset !== bytes.length) throw new Error(`${jsonPath}: shards hold ${bytes.length} bytes, manifest describes ${offset}.`);
  }
  const layers = new Map<string, { kernel: Float32Array; kernelShape: number[]; bias: Float32Array }>();
  let cin = 3;
  for (const layer of VGG19_LAYERS) {
    const kernel = values.get(`${layer}/kernel`);
    const bias = values.get(`${layer}/bias`);
    if (!kernel || !bias) throw new Error(`${jsonPath}: weight "${layer}/${kernel ? 'bias' : 'kernel'}" is missing; is this VGG19? ${VGG_HOW_TO_GET}`);
    const cout = bias.shape[0];
    if (kernel.shape.join() !== [3, 3, cin, cout].join()) {
      throw new Error(`${jsonPath}: "${layer}/kernel" has shape [${kernel.shape}], expected [3,3,${cin},${cout}] (HWIO).`);
    }
    layers.set(layer, { kernel: kernel.data, kernelShape: kernel.shape, bias: bias.data });
    cin = cout;
  }
  return layers;
}

function decodeWeight(entry: ManifestEntry, bytes: Buffer, offset: number, count: number, where: string): { values: Float32Array; byteLength: number } {
  const q = entry.quantization;
  if (!q && entry.dtype !== 'float32') throw new Error(`${where}: weight "${entry.name}" has dtype ${entry.dtype}; expected float32.`);
  if (q && !Object.hasOwn(STORED_BYTES, q.dtype)) throw new Error(`${where}: weight "${entry.name}" uses quantization ${JSON.stringify(q)}, which is not supported.`);
  const byteLength = count * (q ? STORED_BYTES[q.dtype] : 4);
  if (offset + byteLength > bytes.length) throw new Error(`${where}: weight "${entry.name}" runs past the end of its shards.`);
  return { values: dequantizeWeights(bytes.subarray(offset, offset + byteLength), count, q), byteLength };
}

interface VggLayer {
  name: string;
  kernel: tf.Tensor4D;
  bias: tf.Tensor1D;
  /** The kernel rotated 180 degrees with in/out channels swapped: a 'same' conv with it is the input gradient. */
  inputGradientKernel: tf.Tensor4D;
}

/**
 * VGG19 conv stack on the current tfjs backend. Call `dispose()` when done.
 *
 * Each conv + bias + ReLU is one fused kernel with a hand-written gradient, because the loss
 * network is frozen: only the gradient with respect to its input is ever needed, and that is a
 * 'same' convolution of the masked incoming gradient with a kernel rotated once, here, at load.
 * Through tfjs's own conv gradient the kernel would be cloned on every step (tfjs saves copies of
 * the tensors a gradient needs), so nothing that depends on the kernel could be prepared once:
 * on wasm, XNNPACK re-packed all 20 million weights every step and the input gradient took 4x the
 * forward conv's time.
 */
export class VggFeatures {
  private readonly _layers: VggLayer[];

  private constructor(layers: VggLayer[]) {
    this._layers = layers;
  }

  static async load(path: string): Promise<VggFeatures> {
    const weights = await readVggWeights(path);
    return new VggFeatures(
      VGG19_LAYERS.map((name, index) => {
        const w = weights.get(name)!;
        // The first layer takes BGR: its kernel's input channels reversed take RGB, the same sums
        // without a Reverse of every image (15 ms a step on wasm, and its gradient as much).
        const kernel = tf.keep(
          tf.tidy(() => {
            const stored = tf.tensor4d(w.kernel, w.kernelShape as [number, number, number, number]);
            return index === 0 ? tf.reverse(stored, 2) : stored;
          }),
        );
        return {
          name,
          kernel,
          bias: tf.keep(tf.tensor1d(w.bias)),
          inputGradientKernel: tf.keep(tf.tidy(() => tf.transpose(tf.reverse(kernel, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D)),
        };
      }),
    );
  }

  /**
   * Features at `taps` for RGB 0..255 images [b,h,w,3]. Runs only as deep as the deepest tap.
   * The returned tensors are not kept: call inside `tf.tidy` (or dispose them).
   */
  features(images: tf.Tensor4D, taps: readonly VggTap[]): Map<VggTap, tf.Tensor4D> {
    const wanted = new Map<string, VggTap>(taps.map((tap) => [tapLayerName(tap), tap]));
    const deepest = Math.max(...taps.map((tap) => VGG19_LAYERS.indexOf(tapLayerName(tap))));
    const result = new Map<VggTap, tf.Tensor4D>();
    // Caffe's mean subtraction, in RGB order: the first layer's kernel takes RGB (see load).
    let x = tf.sub(images, tf.tensor1d([...VGG_BGR_MEAN].reverse())) as tf.Tensor4D;
    for (let i = 0; i <= deepest; i++) {
      const layer = this._layers[i];
      if (i > 0 && layer.name.endsWith('_conv1')) x = maxPool2x2(x);
      x = convBiasRelu(x, layer);
      const tap = wanted.get(layer.name);
      if (tap) result.set(tap, x);
    }
    return result;
  }

  dispose(): void {
    for (const layer of this._layers) tf.dispose([layer.kernel, layer.bias, layer.inputGradientKernel]);
  }
}

/**
 * VGG's 2x2, stride-2 max pooling, with its gradient written here: tfjs-backend-wasm 4.22's
 * MaxPoolGrad routes the gradient to the wrong pixels for some shapes (1x8x8x8: off by 2.5 against
 * a plain loop, while cpu is exact) and takes 5x this one's time. The gradient goes to every pixel
 * equal to its window's maximum; in VGG a tie can only be between ReLU zeros, whose gradient the
 * ReLU below zeroes anyway. On wasm one pass in JavaScript does the same (kernels/fast-gradients.ts).
 */
export function maxPool2x2(x: tf.Tensor4D): tf.Tensor4D {
  const op = tf.customGrad(((input: tf.Tensor4D, save: tf.GradSaveFunc) => {
    const pooled = tf.maxPool(input, 2, 2, 'valid');
    save([input, pooled]);
    return {
      value: pooled,
      gradFunc: (dy: tf.Tensor4D, [saved, max]: tf.Tensor[]) => {
        if (hasFastGradient(FAST_MAX_POOL_2X2_GRADIENT)) return tf.engine().runKernel(FAST_MAX_POOL_2X2_GRADIENT, { x: saved, pooled: max, dy }) as tf.Tensor4D;
        const [, height, width] = (saved as tf.Tensor4D).shape;
        const spread = (t: tf.Tensor4D) => padTo(upsampleNearest2x(t), height, width);
        return tf.mul(tf.cast(tf.equal(saved, spread(max as tf.Tensor4D)), 'float32'), spread(dy));
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad<tf.Tensor4D>>[0]);
  return op(x) as tf.Tensor4D;
}

/** Zero rows and columns after an NHWC tensor up to height x width: for odd sizes, whose last row or column 'valid' pooling never read. */
function padTo(x: tf.Tensor4D, height: number, width: number): tf.Tensor4D {
  const [, h, w] = x.shape;
  if (h === height && w === width) return x;
  return tf.pad(x, [[0, 0], [0, height - h], [0, width - w], [0, 0]]);
}

/** A ReLU's input gradient from its output: one pass where the backend has the fast kernel. */
function reluGradient(dy: tf.Tensor4D, output: tf.Tensor4D): tf.Tensor4D {
  if (hasFastGradient(FAST_RELU_GRADIENT)) return tf.engine().runKernel(FAST_RELU_GRADIENT, { dy, y: output }) as tf.Tensor4D;
  return tf.mul(dy, tf.step(output));
}

/** relu(conv(x, kernel, 'same') + bias) in one kernel; differentiable with respect to x only. */
function convBiasRelu(x: tf.Tensor4D, layer: VggLayer): tf.Tensor4D {
  const op = tf.customGrad(((input: tf.Tensor4D, save: tf.GradSaveFunc) => {
    // Called as a kernel: tf.fused.conv2d would fall back to three unfused ops under a gradient tape.
    const y = tf.engine().runKernel(
      'FusedConv2D',
      { x: input, filter: layer.kernel, bias: layer.bias },
      { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dilations: [1, 1], activation: 'relu' } as unknown as tf.NamedAttrMap,
    ) as tf.Tensor4D;
    save([y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor4D, [output]: tf.Tensor[]) => tf.conv2d(reluGradient(dy, output as tf.Tensor4D), layer.inputGradientKernel, 1, 'same'),
    };
  }) as unknown as Parameters<typeof tf.customGrad<tf.Tensor4D>>[0]);
  return op(x) as tf.Tensor4D;
}
