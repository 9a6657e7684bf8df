/**
 * The transformer network's shape: Johnson et al. 2016, "Perceptual Losses for Real-Time Style
 * Transfer and Super-Resolution", with instance normalisation (Ulyanov et al. 2016).
 *
 * This file only describes the network (presets, weight names and shapes); `transformer-net.ts`
 * runs it. Both the plugin and the trainer import these, so the weights file, the browser and the
 * trainer can never disagree about a layer.
 */

/** Width and depth of a TransformerNet. */
export interface TransformerArchitecture {
  /** Channels after the 9x9 input conv and the two stride-2 convs, e.g. [32, 64, 128]. */
  readonly channels: readonly [number, number, number];
  /** Number of residual blocks at the bottleneck. */
  readonly residualBlocks: number;
}

export type ArchitecturePresetName = 'full' | 'slim';

/** `full` is the network of the paper; `slim` is ~6x cheaper for phones and software backends. */
export const ARCHITECTURE_PRESETS: Readonly<Record<ArchitecturePresetName, TransformerArchitecture>> = {
  full: { channels: [32, 64, 128], residualBlocks: 5 },
  slim: { channels: [16, 32, 64], residualBlocks: 3 },
};

/**
 * Bounds of a usable architecture, far beyond anything real time (`full` is 128 channels, 5
 * blocks). They exist so that a damaged or hostile model.json cannot make the loader build millions
 * of weight specs or multiply shapes past 2^53 before it has read a single shard.
 */
export const MAX_CHANNELS = 4096;
export const MAX_RESIDUAL_BLOCKS = 64;

/** Instance-norm epsilon, as in PyTorch's InstanceNorm2d. */
export const INSTANCE_NORM_EPSILON = 1e-5;

/**
 * Smallest short side the network accepts: the bottleneck is 1/4 of the input and its 3x3 reflect
 * padding needs at least 2 pixels there; 16 leaves room for the 9x9 convs too.
 */
export const MIN_INPUT_SIZE = 16;

/** The network halves the picture twice, so it works on sizes that are a multiple of this. */
export const SPATIAL_MULTIPLE = 4;

export interface WeightSpec {
  /** Stable name, as stored in model.json, e.g. `res2/conv1/kernel`. */
  readonly name: string;
  /** Kernels are HWIO ([kh, kw, in, out]); norm scale/offset and biases are [channels]. */
  readonly shape: readonly number[];
  /** How the weight is initialised for a new network. */
  readonly init: 'conv-kernel' | 'ones' | 'zeros';
  /**
   * For each axis of `shape`, which of the architecture's `channels` (0, 1, 2) it runs over, or
   * null where it does not depend on them (kernel size, RGB): what lets the trainer widen a
   * trained network into a wider one.
   */
  readonly channelAxes: readonly ChannelAxis[];
}

/** An index into `TransformerArchitecture.channels`, or null for an axis of fixed size. */
export type ChannelAxis = 0 | 1 | 2 | null;

/** Names the architecture if it is a preset, else describes it. */
export function describeArchitecture(arch: TransformerArchitecture): string {
  for (const [name, preset] of Object.entries(ARCHITECTURE_PRESETS)) {
    if (sameArchitecture(arch, preset)) return name;
  }
  return `custom ${arch.channels.join('/')} channels, ${arch.residualBlocks} residual blocks`;
}

export function sameArchitecture(a: TransformerArchitecture, b: TransformerArchitecture): boolean {
  return a.residualBlocks === b.residualBlocks && a.channels.every((c, i) => c === b.channels[i]);
}

/** Throws a TypeError naming the field when `arch` is not a usable architecture. */
export function validateArchitecture(arch: unknown, where = 'architecture'): TransformerArchitecture {
  const candidate = arch as Partial<TransformerArchitecture> | null;
  if (candidate === null || typeof candidate !== 'object') {
    throw new TypeError(`${where} must be an object like {"channels":[32,64,128],"residualBlocks":5}.`);
  }
  const { channels, residualBlocks } = candidate;
  if (!Array.isArray(channels) || channels.length !== 3 || !channels.every((c) => isPositiveInteger(c) && c <= MAX_CHANNELS)) {
    throw new TypeError(`${where}.channels must be three integers from 1 to ${MAX_CHANNELS}, got ${JSON.stringify(channels)}.`);
  }
  if (!Number.isInteger(residualBlocks) || (residualBlocks as number) < 0 || (residualBlocks as number) > MAX_RESIDUAL_BLOCKS) {
    throw new TypeError(`${where}.residualBlocks must be an integer from 0 to ${MAX_RESIDUAL_BLOCKS}, got ${JSON.stringify(residualBlocks)}.`);
  }
  return { channels: [channels[0], channels[1], channels[2]], residualBlocks: residualBlocks as number };
}

function isPositiveInteger(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) > 0;
}

/**
 * Every weight of the network, in the order the weights file stores them.
 *
 * Convolutions followed by instance norm have no bias: the norm subtracts the per-channel mean,
 * which removes any bias exactly (its gradient is always zero), so storing one would only waste
 * bytes. Only the output convolution has a bias.
 */
export function transformerWeightSpecs(arch: TransformerArchitecture): WeightSpec[] {
  const RGB = null;
  const width = (axis: ChannelAxis) => (axis === null ? 3 : arch.channels[axis]);
  const specs: WeightSpec[] = [];
  const conv = (name: string, k: number, input: ChannelAxis, output: ChannelAxis) =>
    specs.push({ name: `${name}/kernel`, shape: [k, k, width(input), width(output)], init: 'conv-kernel', channelAxes: [null, null, input, output] });
  const norm = (name: string, axis: ChannelAxis) => {
    specs.push({ name: `${name}/scale`, shape: [width(axis)], init: 'ones', channelAxes: [axis] });
    specs.push({ name: `${name}/offset`, shape: [width(axis)], init: 'zeros', channelAxes: [axis] });
  };
  conv('conv1', 9, RGB, 0);
  norm('in1', 0);
  conv('conv2', 3, 0, 1);
  norm('in2', 1);
  conv('conv3', 3, 1, 2);
  norm('in3', 2);
  for (let block = 1; block <= arch.residualBlocks; block++) {
    conv(`res${block}/conv1`, 3, 2, 2);
    norm(`res${block}/in1`, 2);
    conv(`res${block}/conv2`, 3, 2, 2);
    norm(`res${block}/in2`, 2);
  }
  conv('up1', 3, 2, 1);
  norm('in4', 1);
  conv('up2', 3, 1, 0);
  norm('in5', 0);
  conv('conv_out', 9, 0, RGB);
  specs.push({ name: 'conv_out/bias', shape: [3], init: 'zeros', channelAxes: [RGB] });
  return specs;
}

export function countParameters(arch: TransformerArchitecture): number {
  return transformerWeightSpecs(arch).reduce((sum, spec) => sum + elementCount(spec.shape), 0);
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((product, dim) => product * dim, 1);
}
