/**
 * nst-video/model: the network and its file format, with no DOM and no Node dependency. The
 * plugin and the trainer both build on this.
 */
export {
  ARCHITECTURE_PRESETS,
  INSTANCE_NORM_EPSILON,
  MIN_INPUT_SIZE,
  SPATIAL_MULTIPLE,
  countParameters,
  describeArchitecture,
  elementCount,
  sameArchitecture,
  transformerWeightSpecs,
  validateArchitecture,
} from './architecture.js';
export type { ArchitecturePresetName, ChannelAxis, TransformerArchitecture, WeightSpec } from './architecture.js';
export { NstModelError } from './model-errors.js';
export type { NstModelErrorCode } from './model-errors.js';
export { sha256Hex } from './sha256.js';
export { StyleModel, outputSize, stylizePeakBytes } from './style-model.js';
export type { RgbaPixels, StylizeOptions } from './style-model.js';
export {
  FUSED_INSTANCE_NORM_KERNEL,
  initialTransformerWeights,
  instanceNorm,
  reflectConv,
  seededRandom,
  transformerForward,
  upsampleNearest2x,
} from './transformer-net.js';
export type { TransformerWeights } from './transformer-net.js';
export {
  DEFAULT_SHARD_BYTES,
  MODEL_FORMAT_NAME,
  MODEL_FORMAT_VERSION,
  MODEL_JSON_FILE,
  WEIGHT_STORAGES,
  dequantizeWeights,
  encodeRandomStyleModel,
  encodeStyleModel,
  errorText,
  float16BitsToFloat32,
  float32ToFloat16Bits,
  readStyleModel,
  splitIntoShards,
} from './weights-format.js';
export type {
  DecodedStyleModel,
  EncodeRandomStyleModelOptions,
  EncodeStyleModelOptions,
  EncodedStyleModel,
  ReadStyleModelOptions,
  ShardRecord,
  StyleModelFiles,
  StyleModelJson,
  StyleModelLoadProgress,
  StyleModelMetadata,
  WeightQuantization,
  WeightStorage,
} from './weights-format.js';
// Not the network, but DOM-free and needed on both sides too: nst's Node probe judges adapters by the same names.
export { isSoftwareGpu } from '../backend/gpu-probe.js';
