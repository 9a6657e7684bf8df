/**
 * The style-model file format: a TensorFlow.js `model.json` (weights manifest, no topology) plus
 * binary shards, with our own record in `userDefinedMetadata.nst`. The trainer writes it, the
 * plugin and the CLI read it, and everything is validated before a single tensor is built.
 *
 * Storage: float32, float16 (tfjs `quantization: {dtype: 'float16'}`) or uint8 (tfjs affine
 * `quantization: {dtype: 'uint8', min, scale}`, per tensor), so stock tfjs tooling can decode the
 * shards too. Every shard carries its byte length and SHA-256 in our metadata.
 */
import {
  type TransformerArchitecture,
  describeArchitecture,
  elementCount,
  transformerWeightSpecs,
  validateArchitecture,
} from './architecture.js';
import { NstModelError } from './model-errors.js';
import { initialTransformerWeights } from './transformer-net.js';
import { sha256Hex } from './sha256.js';

export const MODEL_FORMAT_NAME = 'nst-video-style-model';
export const MODEL_FORMAT_VERSION = 1;
export const MODEL_JSON_FILE = 'model.json';
/**
 * 1 MiB: a slim model (0.55 MB in float16) stays one file, a full one (3.3 MB) becomes four that
 * a browser fetches in parallel and a host with a per-file limit (or a cache that evicts large
 * entries first) takes as they are. tfjs's converter uses 4 MiB.
 */
export const DEFAULT_SHARD_BYTES = 1024 * 1024;

export type WeightStorage = 'float32' | 'float16' | 'uint8';
export const WEIGHT_STORAGES: readonly WeightStorage[] = ['float32', 'float16', 'uint8'];
const BYTES_PER_ELEMENT: Record<WeightStorage, number> = { float32: 4, float16: 2, uint8: 1 };

export interface ShardRecord {
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
}

/** What a style model says about itself; stored as `userDefinedMetadata.nst`. */
export interface StyleModelMetadata {
  readonly format: typeof MODEL_FORMAT_NAME;
  readonly formatVersion: number;
  /** Preset name (`full`, `slim`) or a description of a custom architecture. */
  readonly architectureName: string;
  readonly architecture: TransformerArchitecture;
  readonly style: { readonly name: string; readonly image?: string; readonly [key: string]: unknown };
  readonly storage: WeightStorage;
  readonly shards: readonly ShardRecord[];
  /** How the weights were made: the trainer's record, or `{kind: 'random-init', seed}`. */
  readonly training: { readonly kind: string; readonly [key: string]: unknown };
  readonly createdAt: string;
  readonly generatedBy: string;
}

interface ManifestWeight {
  name: string;
  shape: number[];
  dtype: 'float32';
  quantization?: { dtype: 'float16' | 'uint8'; original_dtype: 'float32'; min?: number; scale?: number };
}

/** The parts of tfjs's ModelJSON this format uses. */
export interface StyleModelJson {
  format: typeof MODEL_FORMAT_NAME;
  generatedBy: string;
  convertedBy: null;
  weightsManifest: { paths: string[]; weights: ManifestWeight[] }[];
  userDefinedMetadata: { nst: StyleModelMetadata };
}

export interface EncodeStyleModelOptions {
  architecture: TransformerArchitecture;
  weights: ReadonlyMap<string, Float32Array>;
  storage?: WeightStorage;
  style: StyleModelMetadata['style'];
  training: StyleModelMetadata['training'];
  generatedBy: string;
  shardBytes?: number;
}

export interface EncodedStyleModel {
  modelJson: StyleModelJson;
  shards: { path: string; bytes: Uint8Array }[];
}

/** Serialises weights into model.json + shards. Throws if a weight is missing or mis-shaped. */
export async function encodeStyleModel(options: EncodeStyleModelOptions): Promise<EncodedStyleModel> {
  const storage = options.storage ?? 'float16';
  if (!WEIGHT_STORAGES.includes(storage)) {
    throw new TypeError(`storage must be one of ${WEIGHT_STORAGES.join(', ')}, got ${JSON.stringify(storage)}.`);
  }
  const specs = transformerWeightSpecs(options.architecture);
  const manifestWeights: ManifestWeight[] = [];
  const parts: Uint8Array[] = [];
  for (const spec of specs) {
    const values = options.weights.get(spec.name);
    if (!values) throw new TypeError(`encodeStyleModel: weight "${spec.name}" is missing.`);
    if (values.length !== elementCount(spec.shape)) {
      throw new TypeError(
        `encodeStyleModel: weight "${spec.name}" has ${values.length} values, expected ${elementCount(spec.shape)} for shape [${spec.shape}].`,
      );
    }
    const { bytes, quantization } = encodeValues(values, storage);
    manifestWeights.push({ name: spec.name, shape: [...spec.shape], dtype: 'float32', ...(quantization && { quantization }) });
    parts.push(bytes);
  }
  const shards = splitIntoShards(concatBytes(parts), options.shardBytes);
  const shardRecords: ShardRecord[] = [];
  for (const shard of shards) {
    shardRecords.push({ path: shard.path, bytes: shard.bytes.length, sha256: await sha256Hex(shard.bytes) });
  }
  const metadata: StyleModelMetadata = {
    format: MODEL_FORMAT_NAME,
    formatVersion: MODEL_FORMAT_VERSION,
    architectureName: describeArchitecture(options.architecture),
    architecture: options.architecture,
    style: options.style,
    storage,
    shards: shardRecords,
    training: options.training,
    createdAt: new Date().toISOString(),
    generatedBy: options.generatedBy,
  };
  return {
    modelJson: {
      format: MODEL_FORMAT_NAME,
      generatedBy: options.generatedBy,
      convertedBy: null,
      weightsManifest: [{ paths: shards.map((s) => s.path), weights: manifestWeights }],
      userDefinedMetadata: { nst: metadata },
    },
    shards,
  };
}

export interface EncodeRandomStyleModelOptions extends Omit<EncodeStyleModelOptions, 'weights' | 'training'> {
  /** Seed of `initialTransformerWeights`. */
  seed: number;
  /** Extra fields for the training record, which says `{kind: 'random-init', seed}`. */
  training?: Record<string, unknown>;
}

/** A freshly initialised (untrained) network, encoded: what `nst init`, tests and benchmarks use. */
export function encodeRandomStyleModel(options: EncodeRandomStyleModelOptions): Promise<EncodedStyleModel> {
  const { seed, training, ...rest } = options;
  return encodeStyleModel({
    ...rest,
    weights: initialTransformerWeights(options.architecture, seed),
    training: { kind: 'random-init', seed, ...training },
  });
}

function encodeValues(values: Float32Array, storage: WeightStorage): { bytes: Uint8Array; quantization?: ManifestWeight['quantization'] } {
  if (storage === 'float32') return { bytes: new Uint8Array(values.slice().buffer) };
  if (storage === 'float16') {
    const halves = new Uint16Array(values.length);
    for (let i = 0; i < values.length; i++) halves[i] = float32ToFloat16Bits(values[i]);
    return { bytes: new Uint8Array(halves.buffer), quantization: { dtype: 'float16', original_dtype: 'float32' } };
  }
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const scale = max > min ? (max - min) / 255 : 1;
  const bytes = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) bytes[i] = Math.round((values[i] - min) / scale);
  return { bytes, quantization: { dtype: 'uint8', original_dtype: 'float32', min, scale } };
}

/** Where model.json and its shards come from: a URL, a set of Files, a directory on disk. */
export interface StyleModelFiles {
  /** Names the model in error messages, e.g. its URL or path. */
  readonly label: string;
  readModelJson(): Promise<string>;
  /**
   * Resolves with the shard's bytes; rejects if it does not exist. A reader that gets the bytes in
   * pieces (a download) tells `onBytes` how many it has so far, so that a large model shows progress.
   */
  readShard(path: string, onBytes?: (bytesSoFar: number) => void): Promise<Uint8Array>;
}

/** How far a style model has loaded: bytes of its weight shards, whose sizes model.json records. */
export interface StyleModelLoadProgress {
  readonly loadedBytes: number;
  readonly totalBytes: number;
}

export interface ReadStyleModelOptions {
  /**
   * Called with 0 bytes once model.json is read, as shard bytes arrive (where the reader gets them
   * in pieces), and once each shard is read and checked; the last call has `loadedBytes === totalBytes`.
   */
  onProgress?: (progress: StyleModelLoadProgress) => void;
}

export interface DecodedStyleModel {
  readonly metadata: StyleModelMetadata;
  readonly architecture: TransformerArchitecture;
  /** Every weight of `transformerWeightSpecs(architecture)` as float32. */
  readonly weights: Map<string, Float32Array>;
}

/**
 * Reads and validates a style model: JSON, format and version, architecture, every weight's name
 * and shape, every shard's length and checksum. Throws `NstModelError` naming the first problem.
 */
export async function readStyleModel(files: StyleModelFiles, options: ReadStyleModelOptions = {}): Promise<DecodedStyleModel> {
  const where = `${files.label}`;
  let text: string;
  try {
    text = await files.readModelJson();
  } catch (error) {
    throw error instanceof NstModelError
      ? error
      : new NstModelError('fetch-failed', `${where}: could not read model.json (${errorText(error)}). Check the path or URL.`, { cause: error });
  }
  const modelJson = parseModelJson(text, where);
  const { metadata, manifest } = validateModelJson(modelJson, where);
  const shardBytes = new Map<string, Uint8Array>();
  const progress = progressReporter(metadata.shards, options.onProgress);
  for (const record of metadata.shards) {
    let bytes: Uint8Array;
    try {
      bytes = await files.readShard(record.path, progress.onBytes);
    } catch (error) {
      throw new NstModelError(
        'missing-shard',
        `${where}: weight shard "${record.path}" could not be read (${errorText(error)}). Copy every .bin file that model.json lists next to it.`,
        { cause: error },
      );
    }
    if (bytes.length < record.bytes) {
      throw new NstModelError(
        'truncated-shard',
        `${where}: weight shard "${record.path}" is truncated: ${bytes.length} bytes, expected ${record.bytes}. Download or copy the model again.`,
      );
    }
    if (bytes.length > record.bytes) {
      throw new NstModelError(
        'oversized-shard',
        `${where}: weight shard "${record.path}" has ${bytes.length} bytes, expected ${record.bytes}; it is not the shard this model.json was written with.`,
      );
    }
    const digest = await sha256Hex(bytes);
    if (digest !== record.sha256) {
      throw new NstModelError(
        'checksum-mismatch',
        `${where}: weight shard "${record.path}" is corrupt: its SHA-256 is ${digest}, model.json expects ${record.sha256}. Download or copy the model again.`,
      );
    }
    shardBytes.set(record.path, bytes);
    progress.shardDone(record.bytes);
  }
  const all = concatBytes(manifest.paths.map((path) => shardBytes.get(path)!));
  const weights = new Map<string, Float32Array>();
  let offset = 0;
  for (const entry of manifest.weights) {
    const count = elementCount(entry.shape);
    const storage: WeightStorage = entry.quantization?.dtype ?? 'float32';
    const length = count * BYTES_PER_ELEMENT[storage];
    const values = dequantizeWeights(all.subarray(offset, offset + length), count, entry.quantization);
    assertFinite(values, entry.name, storage, where);
    weights.set(entry.name, values);
    offset += length;
  }
  return { metadata, architecture: metadata.architecture, weights };
}

/** Turns shard reads into `onProgress` calls, each with more bytes than the last. */
function progressReporter(shards: readonly ShardRecord[], onProgress: ReadStyleModelOptions['onProgress']) {
  const totalBytes = shards.reduce((sum, shard) => sum + shard.bytes, 0);
  let doneBytes = 0;
  let reported = -1;
  const report = (loadedBytes: number) => {
    if (!onProgress || loadedBytes <= reported) return;
    reported = loadedBytes;
    onProgress({ loadedBytes, totalBytes });
  };
  report(0);
  return {
    // A shard longer than its record is refused once read; until then it counts as no more than the record says.
    onBytes: onProgress && ((bytesSoFar: number) => report(Math.min(totalBytes, doneBytes + bytesSoFar))),
    shardDone(bytes: number) {
      doneBytes += bytes;
      report(doneBytes);
    },
  };
}

/**
 * A checksum proves the shard is the one written, not that what was written is usable: a run that
 * diverged exports NaN, and a float32 weight beyond 65504 becomes Infinity in float16. One such
 * value turns every output pixel into NaN (black in the browser), so it is refused here, where the
 * browser and Node both pass.
 */
function assertFinite(values: Float32Array, name: string, storage: WeightStorage, where: string): void {
  const first = values.findIndex((value) => !Number.isFinite(value));
  if (first < 0) return;
  const count = values.reduce((n, value) => (Number.isFinite(value) ? n : n + 1), 0);
  throw new NstModelError(
    'non-finite-weight',
    `${where}: weight "${name}" holds ${count} value(s) that are not finite (the first, at index ${first}, is ${values[first]}, stored as ${storage}). ` +
      'The model was exported from a training run that diverged, or with a weight too large for its storage; use an earlier checkpoint or train again (with --storage float32 if the weights are large).',
  );
}

function parseModelJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new NstModelError(
      'unreadable-json',
      `${where}: model.json is not valid JSON (${errorText(error)}). The file is damaged or is not a model.json.`,
      { cause: error },
    );
  }
}

function validateModelJson(json: unknown, where: string): { metadata: StyleModelMetadata; manifest: { paths: string[]; weights: ManifestWeight[] } } {
  const metadata = (json as { userDefinedMetadata?: { nst?: StyleModelMetadata } } | null)?.userDefinedMetadata?.nst;
  if (!metadata || metadata.format !== MODEL_FORMAT_NAME) {
    throw new NstModelError(
      'not-an-nst-model',
      `${where}: model.json is not an nst-video style model (no userDefinedMetadata.nst.format "${MODEL_FORMAT_NAME}"). Export it with "nst train" or "nst init".`,
    );
  }
  if (metadata.formatVersion !== MODEL_FORMAT_VERSION) {
    throw new NstModelError(
      'unsupported-format-version',
      `${where}: model.json has format version ${JSON.stringify(metadata.formatVersion)}; this nst-video reads version ${MODEL_FORMAT_VERSION}. ` +
        (Number(metadata.formatVersion) > MODEL_FORMAT_VERSION ? 'Upgrade nst-video.' : 'Re-export the model with the current nst trainer.'),
    );
  }
  let architecture: TransformerArchitecture;
  try {
    architecture = validateArchitecture(metadata.architecture, 'userDefinedMetadata.nst.architecture');
  } catch (error) {
    throw new NstModelError('bad-architecture', `${where}: ${errorText(error)}`, { cause: error });
  }
  const groups = (json as { weightsManifest?: unknown }).weightsManifest;
  if (!Array.isArray(groups) || groups.length === 0) {
    throw new NstModelError('bad-manifest', `${where}: model.json has no weightsManifest.`);
  }
  const paths: string[] = [];
  const entries: ManifestWeight[] = [];
  for (const group of groups as { paths?: unknown; weights?: unknown }[]) {
    if (!Array.isArray(group?.paths) || !Array.isArray(group?.weights)) {
      throw new NstModelError('bad-manifest', `${where}: every weightsManifest group needs "paths" and "weights" arrays.`);
    }
    paths.push(...(group.paths as string[]));
    entries.push(...(group.weights as ManifestWeight[]));
  }
  if (!Array.isArray(metadata.shards) || metadata.shards.length !== paths.length || metadata.shards.some((s, i) => s?.path !== paths[i])) {
    throw new NstModelError(
      'bad-manifest',
      `${where}: userDefinedMetadata.nst.shards does not list the same shards as weightsManifest (${paths.join(', ')}).`,
    );
  }
  for (const record of metadata.shards) {
    // Checked before any shard is read: a length that is not a plain byte count would otherwise
    // reach the size comparisons as a string, NaN or a negative number.
    if (typeof record.path !== 'string' || !Number.isSafeInteger(record.bytes) || record.bytes < 0 || typeof record.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(record.sha256)) {
      throw new NstModelError(
        'bad-manifest',
        `${where}: userDefinedMetadata.nst.shards entry ${JSON.stringify(record)} needs a "path" string, a "bytes" count (a non-negative integer) and a "sha256" of 64 hex digits. Export the model again.`,
      );
    }
  }
  if (typeof metadata.style?.name !== 'string' || !WEIGHT_STORAGES.includes(metadata.storage) || typeof metadata.training?.kind !== 'string') {
    throw new NstModelError(
      'bad-manifest',
      `${where}: userDefinedMetadata.nst needs "style": {"name": string}, "storage" (one of ${WEIGHT_STORAGES.join(', ')}) and "training": {"kind": string}; ` +
        `got style ${JSON.stringify(metadata.style)}, storage ${JSON.stringify(metadata.storage)}, training ${JSON.stringify(metadata.training)?.slice(0, 80)}. Export the model again.`,
    );
  }
  const expected = new Map(transformerWeightSpecs(architecture).map((spec) => [spec.name, spec]));
  const seen = new Set<string>();
  for (const entry of entries) {
    const spec = expected.get(entry?.name);
    if (!spec) {
      throw new NstModelError(
        'unexpected-weight',
        `${where}: model.json has weight "${entry?.name}", which a ${describeArchitecture(architecture)} TransformerNet does not have.`,
      );
    }
    if (seen.has(entry.name)) throw new NstModelError('bad-manifest', `${where}: weight "${entry.name}" is listed twice.`);
    seen.add(entry.name);
    if (!Array.isArray(entry.shape) || entry.shape.length !== spec.shape.length || entry.shape.some((d, i) => d !== spec.shape[i])) {
      throw new NstModelError(
        'wrong-shape',
        `${where}: weight "${entry.name}" has shape ${JSON.stringify(entry.shape)}, expected [${spec.shape.join(',')}] for a ${describeArchitecture(architecture)} TransformerNet.`,
      );
    }
    // A quantization that is present but not an object (a string, a number, an array) would
    // otherwise read as "no dtype", size the weight as float32 and decode it as something else.
    const quantizationIsObject = entry.quantization === undefined || (entry.quantization !== null && typeof entry.quantization === 'object' && !Array.isArray(entry.quantization));
    const quantization = quantizationIsObject ? entry.quantization?.dtype : JSON.stringify(entry.quantization);
    if (entry.dtype !== 'float32' || (quantization !== undefined && quantization !== 'float16' && quantization !== 'uint8')) {
      throw new NstModelError(
        'bad-manifest',
        `${where}: weight "${entry.name}" is stored as ${JSON.stringify(entry.dtype)} with quantization ${quantization ?? 'none'}; supported are float32, and float16 or uint8 quantization ({"dtype": ...}) of float32.`,
      );
    }
    if (quantization === 'uint8' && !(Number.isFinite(entry.quantization?.min) && Number.isFinite(entry.quantization?.scale))) {
      throw new NstModelError(
        'bad-manifest',
        `${where}: uint8 weight "${entry.name}" needs finite numbers as quantization.min and quantization.scale, got ${JSON.stringify(entry.quantization?.min)} and ${JSON.stringify(entry.quantization?.scale)}.`,
      );
    }
  }
  for (const name of expected.keys()) {
    if (!seen.has(name)) {
      throw new NstModelError(
        'missing-weight',
        `${where}: model.json has no weight "${name}", which a ${describeArchitecture(architecture)} TransformerNet needs.`,
      );
    }
  }
  const neededBytes = entries.reduce((sum, e) => sum + elementCount(e.shape) * BYTES_PER_ELEMENT[e.quantization?.dtype ?? 'float32'], 0);
  const listedBytes = metadata.shards.reduce((sum, s) => sum + s.bytes, 0);
  if (neededBytes !== listedBytes) {
    throw new NstModelError('bad-manifest', `${where}: the weights need ${neededBytes} bytes but the shards hold ${listedBytes}.`);
  }
  return { metadata: { ...metadata, architecture }, manifest: { paths, weights: entries } };
}

/**
 * `bytes` cut into shards of `shardBytes` (the last one shorter), named as tfjs names them
 * (`group1-shard1of2.bin`, ...); an empty `bytes` still makes one shard. Shards are views of `bytes`.
 */
export function splitIntoShards(bytes: Uint8Array, shardBytes: number = DEFAULT_SHARD_BYTES): { path: string; bytes: Uint8Array }[] {
  const count = Math.max(1, Math.ceil(bytes.length / shardBytes));
  return Array.from({ length: count }, (_, i) => ({
    path: `group1-shard${i + 1}of${count}.bin`,
    bytes: bytes.subarray(i * shardBytes, (i + 1) * shardBytes),
  }));
}

/** A tfjs weight's `quantization`: float16 bits, or affine codes standing for `min + scale * code`. */
export interface WeightQuantization {
  readonly dtype: 'float16' | 'uint8' | 'uint16';
  readonly min?: number;
  readonly scale?: number;
}

/**
 * The float32 values of `count` weights stored in `bytes` (exactly their bytes) with tfjs's
 * `quantization`, or as float32 without one. Read in the platform's byte order, which is
 * little-endian, as tfjs writes them, wherever JavaScript runs.
 */
export function dequantizeWeights(bytes: Uint8Array, count: number, quantization?: WeightQuantization): Float32Array {
  // Copy first: shard bytes may sit at an offset that is not aligned for typed-array views.
  // (new Uint8Array copies a Node Buffer too, whose slice() would be a view.)
  const aligned = new Uint8Array(bytes).buffer;
  if (!quantization) return new Float32Array(aligned, 0, count);
  const out = new Float32Array(count);
  if (quantization.dtype === 'float16') {
    const halves = new Uint16Array(aligned, 0, count);
    for (let i = 0; i < count; i++) out[i] = float16BitsToFloat32(halves[i]);
  } else {
    const { min = 0, scale = 1 } = quantization;
    const codes = quantization.dtype === 'uint8' ? new Uint8Array(aligned, 0, count) : new Uint16Array(aligned, 0, count);
    for (let i = 0; i < count; i++) out[i] = min + scale * codes[i];
  }
  return out;
}

const float32Scratch = new Float32Array(1);
const uint32Scratch = new Uint32Array(float32Scratch.buffer);

/** IEEE 754 binary16 bits for a float32, rounding to nearest even (what GPUs and tfjs expect). */
export function float32ToFloat16Bits(value: number): number {
  float32Scratch[0] = value;
  const bits = uint32Scratch[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  let mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  let halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent <= 0) {
    if (halfExponent < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - halfExponent;
    let half = mantissa >>> shift;
    const remainder = mantissa & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (remainder > halfway || (remainder === halfway && (half & 1))) half++;
    return sign | half;
  }
  let half = (halfExponent << 10) | (mantissa >>> 13);
  const remainder = mantissa & 0x1fff;
  if (remainder > 0x1000 || (remainder === 0x1000 && (half & 1))) half++;
  return sign | half;
}

export function float16BitsToFloat32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
