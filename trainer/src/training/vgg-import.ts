/**
 * Converts the official Keras VGG19 weights (`vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5`,
 * float32, HDF5) into a TensorFlow.js layers model (`model.json` + float32 shards) that
 * `VggFeatures.load` reads (float32, no quantisation).
 *
 * HDF5 is read with h5wasm (libhdf5 compiled to WebAssembly, shipped inside the npm package).
 * Keras files name weights differently across versions (`block1_conv1/kernel:0`,
 * `block1_conv1_W_1:0`), so each layer's kernel and bias are told apart by rank (4 vs 1).
 */
import h5wasm from 'h5wasm/node';
import { mkdir, open } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { splitIntoShards } from 'nst-video/model';
import { writeFileAtomically } from '../model-files.js';
import { GENERATED_BY } from '../version.js';
import { VGG19_LAYERS } from './vgg.js';

interface LayerWeights {
  kernel: Float32Array;
  kernelShape: number[];
  bias: Float32Array;
}

type H5Group = InstanceType<typeof h5wasm.Group>;
type H5Dataset = InstanceType<typeof h5wasm.Dataset>;

function datasetsUnder(group: H5Group): H5Dataset[] {
  const found: H5Dataset[] = [];
  for (const key of group.keys()) {
    const child = group.get(key);
    if (child instanceof h5wasm.Dataset) found.push(child);
    else if (child instanceof h5wasm.Group) found.push(...datasetsUnder(child));
  }
  return found;
}

function toFloat32(dataset: H5Dataset, where: string): Float32Array {
  const value = dataset.value;
  if (value instanceof Float32Array) return value;
  if (value instanceof Float64Array) return Float32Array.from(value);
  throw new Error(`${where}: dataset ${dataset.path} is not float32/float64 (dtype ${String(dataset.dtype)}).`);
}

const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

/** libhdf5 reports a non-HDF5 file with a cryptic message; check the signature first. */
async function checkHdf5Signature(path: string): Promise<void> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    throw new Error(`No such file "${path}". Download vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5 from the Keras applications release first.`);
  }
  try {
    const head = Buffer.alloc(8);
    await handle.read(head, 0, 8, 0);
    if (!head.equals(HDF5_SIGNATURE)) throw new Error(`"${path}" is not a readable HDF5 file (no HDF5 signature at its start).`);
  } finally {
    await handle.close();
  }
}

/** Reads VGG19's 16 conv layers from a Keras .h5 file. */
export async function readKerasVgg19(path: string): Promise<Map<string, LayerWeights>> {
  await h5wasm.ready;
  await checkHdf5Signature(path);
  let file;
  try {
    file = new h5wasm.File(resolve(path), 'r');
  } catch (error) {
    throw new Error(`"${path}" is not a readable HDF5 file: ${(error as Error).message}`, { cause: error });
  }
  try {
    // A whole saved model keeps its weights under model_weights/; a weights file at the root.
    const root = (file.keys().includes('model_weights') ? file.get('model_weights') : file) as H5Group;
    const layers = new Map<string, LayerWeights>();
    let cin = 3;
    for (const layer of VGG19_LAYERS) {
      const group = root.keys().includes(layer) ? root.get(layer) : null;
      if (!(group instanceof h5wasm.Group)) {
        throw new Error(`${path}: no layer "${layer}"; is this the Keras VGG19 (…_notop.h5) weights file? It has: ${root.keys().slice(0, 8).join(', ')}…`);
      }
      const datasets = datasetsUnder(group);
      const kernel = datasets.find((d) => d.shape?.length === 4);
      const bias = datasets.find((d) => d.shape?.length === 1);
      if (!kernel || !bias) throw new Error(`${path}: layer "${layer}" lacks a 4-D kernel or a 1-D bias.`);
      const kernelShape = kernel.shape!;
      const cout = bias.shape![0];
      if (kernelShape.join() !== [3, 3, cin, cout].join()) {
        throw new Error(`${path}: "${layer}" kernel has shape [${kernelShape}], expected [3,3,${cin},${cout}] (TensorFlow HWIO order).`);
      }
      layers.set(layer, { kernel: toFloat32(kernel, path), kernelShape, bias: toFloat32(bias, path) });
      cin = cout;
    }
    return layers;
  } finally {
    file.close();
  }
}

/** A Keras functional-model topology of the conv stack, cut at block5_pool. */
function vggTopology(layers: Map<string, LayerWeights>): object {
  const keras = [
    { class_name: 'InputLayer', name: 'input_1', inbound_nodes: [], config: { batch_input_shape: [null, null, null, 3], dtype: 'float32', sparse: false, name: 'input_1' } },
  ];
  let previous = 'input_1';
  VGG19_LAYERS.forEach((name, i) => {
    const filters = layers.get(name)!.bias.length;
    keras.push({
      class_name: 'Conv2D',
      name,
      inbound_nodes: [[[previous, 0, 0, {}]]],
      config: { name, trainable: false, dtype: 'float32', filters, kernel_size: [3, 3], strides: [1, 1], padding: 'same', data_format: 'channels_last', dilation_rate: [1, 1], activation: 'relu', use_bias: true } as never,
    } as never);
    previous = name;
    const next = VGG19_LAYERS[i + 1];
    if (!next || next.endsWith('_conv1')) {
      const pool = `${name.split('_')[0]}_pool`;
      keras.push({
        class_name: 'MaxPooling2D',
        name: pool,
        inbound_nodes: [[[previous, 0, 0, {}]]],
        config: { name: pool, trainable: false, dtype: 'float32', pool_size: [2, 2], padding: 'valid', strides: [2, 2], data_format: 'channels_last' } as never,
      } as never);
      previous = pool;
    }
  });
  return {
    class_name: 'Model',
    config: { name: 'vgg19', layers: keras, input_layers: [['input_1', 0, 0]], output_layers: [[previous, 0, 0]] },
    keras_version: '2.2.4-tf',
    backend: 'tensorflow',
  };
}

/** Writes the layers as a TensorFlow.js layers model (float32 shards) into `outDir`. */
export async function writeVggModel(outDir: string, layers: Map<string, LayerWeights>, source: string): Promise<{ jsonPath: string; bytes: number; shards: number }> {
  const weights: { name: string; shape: number[]; dtype: 'float32' }[] = [];
  const parts: Float32Array[] = [];
  for (const name of VGG19_LAYERS) {
    const layer = layers.get(name)!;
    weights.push({ name: `${name}/kernel`, shape: layer.kernelShape, dtype: 'float32' });
    weights.push({ name: `${name}/bias`, shape: [layer.bias.length], dtype: 'float32' });
    parts.push(layer.kernel, layer.bias);
  }
  const total = parts.reduce((n, p) => n + p.length, 0);
  const all = new Float32Array(total);
  parts.reduce((offset, p) => (all.set(p, offset), offset + p.length), 0);
  const bytes = new Uint8Array(all.buffer);
  const shards = splitIntoShards(bytes);
  const paths = shards.map((shard) => shard.path);
  await mkdir(outDir, { recursive: true });
  for (const shard of shards) await writeFileAtomically(join(outDir, shard.path), shard.bytes);
  const modelJson = {
    format: 'layers-model',
    generatedBy: 'keras v2.2.4-tf',
    convertedBy: `${GENERATED_BY} nst import-vgg from ${source}`,
    modelTopology: { keras_version: '2.2.4-tf', backend: 'tensorflow', model_config: vggTopology(layers) },
    weightsManifest: [{ paths, weights }],
  };
  const jsonPath = join(outDir, 'model.json');
  await writeFileAtomically(jsonPath, JSON.stringify(modelJson));
  return { jsonPath, bytes: bytes.length, shards: shards.length };
}
