/**
 * Test helper: damages a valid encoded model in many seeded ways and reads each result with
 * readStyleModel, recording how every case ended. Shared by the Node and the browser fuzz tests.
 *
 * A case passes when it ends within `caseLimitMs` either with an NstModelError or with a model
 * whose every weight is present, of the right length and finite (some damage is harmless: a
 * changed `createdAt`, say). Anything else, a hang, another error, or an allocation larger than
 * `maxAllocationBytes`, is a failure naming the case, so it can be replayed from its seed and index.
 */
import {
  NstModelError,
  WEIGHT_STORAGES,
  elementCount,
  readStyleModel,
  seededRandom,
  transformerWeightSpecs,
  type EncodedStyleModel,
  type StyleModelFiles,
  type TransformerArchitecture,
} from 'nst-video/model';

export interface FuzzOptions {
  /** Valid models to start from, one picked per case (e.g. one per storage). */
  readonly bases: readonly EncodedStyleModel[];
  readonly seed: number;
  readonly count: number;
  readonly caseLimitMs: number;
  /** No typed array or ArrayBuffer larger than this may be made while a case runs. */
  readonly maxAllocationBytes: number;
}

export interface FuzzReport {
  /** Cases per outcome: an NstModelError code, or `decoded` for harmless damage. */
  readonly counts: Record<string, number>;
  /** Cases per kind of damage. */
  readonly kinds: Record<string, number>;
  readonly failures: string[];
  readonly slowestMs: number;
  /** The largest single typed array or ArrayBuffer made by a case. */
  readonly largestAllocation: number;
}

interface Case {
  kind: string;
  json: string;
  shards: Map<string, Uint8Array>;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Random = () => number;

const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)];
const integer = (random: Random, below: number) => Math.floor(random() * below);

/** Every [parent, key] in a JSON tree, so that one node can be replaced or removed. */
function slots(root: Json): [Record<string, Json> | Json[], string | number][] {
  const out: [Record<string, Json> | Json[], string | number][] = [];
  const walk = (node: Json) => {
    if (Array.isArray(node)) node.forEach((child, i) => (out.push([node, i]), walk(child)));
    else if (node !== null && typeof node === 'object') for (const [key, child] of Object.entries(node)) out.push([node, key]), walk(child);
  };
  walk(root);
  return out;
}

/** The same value in another JSON type: what a hand-edited or foreign model.json holds. */
function confuse(random: Random, value: Json): Json {
  const options: Json[] = [null, true, 0, -1, 1e308, '', {}, []];
  if (typeof value === 'number') options.push(String(value), [value], -value, value + 0.5);
  if (typeof value === 'string') options.push(Number(value) || 1, [value], { value }, value.repeat(3));
  if (Array.isArray(value)) options.push({ ...value }, value.length, JSON.stringify(value), [...value, ...value], value.slice(1));
  else if (value !== null && typeof value === 'object') options.push(Object.values(value), JSON.stringify(value), [value]);
  return pick(random, options);
}

const HUGE_SHAPES: Json[] = [[1e9, 1e9, 3, 3], [2 ** 53, 2], [1e308], [-1, 3, 3, 3], [0], [1.5, 2], ['3', '3', '3', '3'], [null], [[3]], []];
const BAD_QUANTIZATIONS: Json[] = [
  { dtype: 'uint8', original_dtype: 'float32' },
  { dtype: 'uint8', original_dtype: 'float32', min: '0', scale: '1' },
  { dtype: 'uint8', original_dtype: 'float32', min: null, scale: 1 },
  { dtype: 'uint8', original_dtype: 'float32', min: 1e38, scale: 1e38 },
  { dtype: 'uint8', original_dtype: 'float32', min: -1e308, scale: 1e308 },
  { dtype: 'float16', original_dtype: 'float32' },
  { dtype: 'int8', original_dtype: 'float32', min: 0, scale: 1 },
  { dtype: 'float64' },
  { dtype: null },
  {},
  'float16',
  'uint8',
  7,
  ['uint8'],
  null,
];
const BAD_SHARD_FIELDS: [string, Json][] = [
  ['bytes', -1], ['bytes', 1e20], ['bytes', 1.5], ['bytes', '100'], ['bytes', null], ['bytes', 2 ** 31],
  ['sha256', 'x'], ['sha256', 0], ['sha256', 'A'.repeat(64)], ['path', 7], ['path', '../model.json'],
];

/** An architecture that validates (or nearly), with a manifest and shard records to match it. */
function hugeArchitecture(random: Random, model: Json): string {
  const arch: TransformerArchitecture | Json = pick<Json>(random, [
    { channels: [4096, 4096, 4096], residualBlocks: 64 },
    { channels: [1e9, 1e9, 1e9], residualBlocks: 5 },
    { channels: [32, 64, 128], residualBlocks: 1e9 },
    { channels: [2 ** 31, 2, 2], residualBlocks: 0 },
    { channels: [4097, 64, 128], residualBlocks: 5 },
  ]);
  const root = model as { weightsManifest: { weights: Json[] }[]; userDefinedMetadata: { nst: { architecture: Json; shards: { bytes: number }[] } } };
  root.userDefinedMetadata.nst.architecture = arch;
  // Only consistent manifests get past validation; the loop below is bounded by the test, not
  // by the loader, so only build them for architectures small enough to list.
  const { residualBlocks } = arch as unknown as TransformerArchitecture;
  if (residualBlocks <= 64) {
    const specs = transformerWeightSpecs(arch as unknown as TransformerArchitecture);
    root.weightsManifest = [{ ...root.weightsManifest[0], weights: specs.map((s) => ({ name: s.name, shape: [...s.shape], dtype: 'float32' })) }];
    const shards = root.userDefinedMetadata.nst.shards;
    const needed = specs.reduce((sum, s) => sum + elementCount(s.shape) * 4, 0);
    shards.forEach((s, i) => (s.bytes = i === shards.length - 1 ? needed - shards.slice(0, -1).reduce((n, r) => n + r.bytes, 0) : s.bytes));
  }
  return JSON.stringify(model);
}

function mutate(random: Random, base: EncodedStyleModel): Case {
  const json = JSON.stringify(base.modelJson);
  const shards = new Map(base.shards.map((s) => [s.path, s.bytes]));
  const shardPath = pick(random, [...shards.keys()]);
  const kind = pick(random, [
    'json-bytes', 'json-truncate', 'shard-bytes', 'shard-truncate', 'shard-extend', 'shard-missing',
    'type-confusion', 'type-confusion', 'type-confusion', 'delete-key', 'huge-shape', 'huge-architecture',
    'quantization', 'shard-record', 'several',
  ]);
  const apply = (kind: string, text: string): string => {
    switch (kind) {
      case 'json-bytes': {
        const chars = [...text];
        for (let n = 1 + integer(random, 8); n > 0; n--) chars[integer(random, chars.length)] = String.fromCharCode(integer(random, 256));
        return chars.join('');
      }
      case 'json-truncate':
        return text.slice(0, integer(random, text.length));
      case 'shard-bytes': {
        const bytes = shards.get(shardPath)!.slice();
        for (let n = 1 + integer(random, 8); n > 0; n--) bytes[integer(random, bytes.length)] = integer(random, 256);
        shards.set(shardPath, bytes);
        return text;
      }
      case 'shard-truncate':
        shards.set(shardPath, shards.get(shardPath)!.slice(0, integer(random, shards.get(shardPath)!.length)));
        return text;
      case 'shard-extend': {
        const old = shards.get(shardPath)!;
        const longer = new Uint8Array(old.length + 1 + integer(random, 64));
        longer.set(old);
        shards.set(shardPath, longer);
        return text;
      }
      case 'shard-missing':
        shards.delete(shardPath);
        return text;
    }
    let root: Json;
    try {
      root = JSON.parse(text) as Json;
    } catch {
      return text; // an earlier step of `several` already broke the JSON
    }
    const weights = () => ((root as { weightsManifest?: { weights?: Record<string, Json>[] }[] })?.weightsManifest?.[0]?.weights ?? []).filter((w) => w && typeof w === 'object');
    switch (kind) {
      case 'type-confusion':
      case 'delete-key': {
        const all = slots(root);
        if (all.length === 0) return text;
        const [parent, key] = pick(random, all);
        if (kind === 'delete-key' && Array.isArray(parent)) parent.splice(key as number, 1);
        else if (kind === 'delete-key') delete (parent as Record<string, Json>)[key as string];
        else (parent as Record<string | number, Json>)[key] = confuse(random, (parent as Record<string | number, Json>)[key]);
        return JSON.stringify(root);
      }
      case 'huge-shape': {
        const list = weights();
        if (list.length) pick(random, list).shape = pick(random, HUGE_SHAPES);
        return JSON.stringify(root);
      }
      case 'huge-architecture':
        return root && typeof root === 'object' && 'userDefinedMetadata' in root ? hugeArchitecture(random, root) : text;
      case 'quantization': {
        const list = weights();
        const value = pick(random, BAD_QUANTIZATIONS);
        // On every weight half the time, so whole-model consistent damage (min/scale) is met too.
        for (const weight of random() < 0.5 ? list : list.slice(0, 1 + integer(random, list.length))) weight.quantization = value;
        return JSON.stringify(root);
      }
      case 'shard-record': {
        const records = (root as { userDefinedMetadata?: { nst?: { shards?: Record<string, Json>[] } } })?.userDefinedMetadata?.nst?.shards;
        if (Array.isArray(records) && records.length) {
          const [field, value] = pick(random, BAD_SHARD_FIELDS);
          pick(random, records)[field] = value;
        }
        return JSON.stringify(root);
      }
      default:
        throw new Error(`unknown kind ${kind}`);
    }
  };
  if (kind !== 'several') return { kind, json: apply(kind, json), shards };
  const steps = Array.from({ length: 2 + integer(random, 3) }, () => pick(random, ['type-confusion', 'delete-key', 'huge-shape', 'quantization', 'shard-record', 'shard-bytes', 'json-bytes']));
  let text = json;
  for (const step of steps) text = apply(step, text);
  return { kind: `several(${steps.join('+')})`, json: text, shards };
}

function filesOf(testCase: Case, label: string): StyleModelFiles {
  return {
    label,
    readModelJson: async () => testCase.json,
    readShard: async (path) => {
      const bytes = testCase.shards.get(path);
      if (!bytes) throw new Error(`no such file: ${path}`);
      return bytes;
    },
  };
}

const GUARDED = ['ArrayBuffer', 'SharedArrayBuffer', 'Uint8Array', 'Uint8ClampedArray', 'Int8Array', 'Uint16Array', 'Int16Array', 'Uint32Array', 'Int32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array'] as const;

/**
 * Runs `body` with the global typed-array and ArrayBuffer constructors replaced by proxies that
 * refuse (and report) a length beyond `limit` bytes, so that a decoder trusting a declared size is
 * caught before it asks for gigabytes. The loader's own code reaches these constructors through
 * the global object; copies made by `slice()` are bounded by bytes that already exist.
 */
export async function withAllocationLimit<T>(limit: number, onAllocation: (bytes: number) => void, body: () => Promise<T>): Promise<T> {
  const global = globalThis as unknown as Record<string, unknown>;
  const originals = GUARDED.filter((name) => typeof global[name] === 'function').map((name) => [name, global[name]] as const);
  for (const [name, original] of originals) {
    const perElement = (original as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1;
    global[name] = new Proxy(original as new (...args: unknown[]) => object, {
      construct(target, args, newTarget) {
        const length = args[0];
        if (typeof length === 'number') {
          const bytes = length * perElement;
          onAllocation(bytes);
          if (bytes > limit) throw new FuzzAllocationError(`new ${name}(${length}): ${bytes} bytes, over the ${limit}-byte bound`);
        }
        return Reflect.construct(target, args, newTarget === global[name] ? target : newTarget);
      },
    });
  }
  try {
    return await body();
  } finally {
    for (const [name, original] of originals) global[name] = original;
  }
}

export class FuzzAllocationError extends Error {}

/** Mutates `bases` `count` times and reads each one; see the file comment for what passes. */
export async function fuzzLoader(options: FuzzOptions): Promise<FuzzReport> {
  const random = seededRandom(options.seed);
  const counts: Record<string, number> = {};
  const kinds: Record<string, number> = {};
  const failures: string[] = [];
  let slowestMs = 0;
  let largestAllocation = 0;
  for (let index = 0; index < options.count; index++) {
    const base = pick(random, options.bases);
    const testCase = mutate(random, base);
    const name = `case ${index} (seed ${options.seed}, ${testCase.kind})`;
    kinds[testCase.kind.replace(/\(.*/, '')] = (kinds[testCase.kind.replace(/\(.*/, '')] ?? 0) + 1;
    const started = performance.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), options.caseLimitMs)));
    let outcome: string;
    try {
      const result = await withAllocationLimit(
        options.maxAllocationBytes,
        (bytes) => (largestAllocation = Math.max(largestAllocation, bytes)),
        () => Promise.race([readStyleModel(filesOf(testCase, `fuzz:${index}`)), timeout]),
      );
      if (result === 'timeout') {
        failures.push(`${name}: still running after ${options.caseLimitMs} ms`);
        outcome = 'timeout';
      } else {
        const problems = transformerWeightSpecs(result.architecture).filter((spec) => {
          const values = result.weights.get(spec.name);
          return !values || values.length !== elementCount(spec.shape) || !values.every(Number.isFinite);
        });
        if (problems.length) failures.push(`${name}: decoded, but weights ${problems.map((s) => s.name).join(', ')} are missing, mis-sized or not finite`);
        if (!WEIGHT_STORAGES.includes(result.metadata.storage) || typeof result.metadata.style?.name !== 'string') failures.push(`${name}: decoded with unusable metadata`);
        outcome = 'decoded';
      }
    } catch (error) {
      if (error instanceof NstModelError && error.message.startsWith(`fuzz:${index}: `) && error.message.length > 30) outcome = error.code;
      else {
        outcome = error instanceof FuzzAllocationError ? 'huge-allocation' : `unnamed ${(error as Error)?.name}`;
        failures.push(`${name}: ${outcome}: ${(error as Error)?.message ?? String(error)}`);
      }
    } finally {
      clearTimeout(timer);
    }
    const ms = performance.now() - started;
    slowestMs = Math.max(slowestMs, ms);
    if (ms > options.caseLimitMs && outcome !== 'timeout') failures.push(`${name}: took ${ms.toFixed(0)} ms`);
    counts[outcome] = (counts[outcome] ?? 0) + 1;
  }
  return { counts, kinds, failures, slowestMs, largestAllocation };
}
