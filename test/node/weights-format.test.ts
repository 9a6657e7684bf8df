// The model file format: round trips in every storage, tfjs interoperability, and one clear error
// for each kind of damage a user can meet.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import {
  ARCHITECTURE_PRESETS,
  NstModelError,
  dequantizeWeights,
  encodeStyleModel,
  float16BitsToFloat32,
  float32ToFloat16Bits,
  initialTransformerWeights,
  readStyleModel,
  sha256Hex,
  splitIntoShards,
  transformerWeightSpecs,
  type EncodedStyleModel,
  type NstModelErrorCode,
  type WeightStorage,
} from 'nst-video/model';
import { sha256Portable } from '../../plugin/src/model/sha256.js';
import { writeStyleModel } from '../../trainer/src/model-files.js';
import { memoryModelFiles } from '../support/model-fixtures.js';
import { useBackend } from '../support/node-backend.js';

before(() => useBackend('cpu'));

const arch = ARCHITECTURE_PRESETS.slim;
const weights = initialTransformerWeights(arch, 3);

function encode(storage: WeightStorage, shardBytes?: number) {
  return encodeStyleModel({ architecture: arch, weights, storage, style: { name: 'test-style' }, training: { kind: 'test' }, generatedBy: 'test', shardBytes });
}

describe('weights format round trip', () => {
  const tolerance: Record<WeightStorage, (values: Float32Array) => number> = {
    float32: () => 0,
    float16: (values) => Math.max(...values.map(Math.abs)) * 2 ** -11,
    uint8: (values) => (Math.max(...values) - Math.min(...values)) / 255 / 2 + 1e-7,
  };
  for (const storage of ['float32', 'float16', 'uint8'] as const) {
    it(`${storage}: every weight comes back within the storage's precision`, async () => {
      const encoded = await encode(storage, 100_000);
      assert.ok(encoded.shards.length > 1, 'several shards');
      const decoded = await readStyleModel(memoryModelFiles(encoded));
      assert.equal(decoded.metadata.storage, storage);
      assert.equal(decoded.metadata.style.name, 'test-style');
      assert.equal(decoded.metadata.architectureName, 'slim');
      for (const spec of transformerWeightSpecs(arch)) {
        const original = weights.get(spec.name)!;
        const restored = decoded.weights.get(spec.name)!;
        assert.equal(restored.length, original.length, spec.name);
        const allowed = tolerance[storage](original);
        let worst = 0;
        for (let i = 0; i < original.length; i++) worst = Math.max(worst, Math.abs(original[i] - restored[i]));
        assert.ok(worst <= allowed, `${spec.name}: error ${worst} > ${allowed}`);
      }
    });

    it(`${storage}: stock tfjs (tf.io.decodeWeights) reads our shards identically`, async () => {
      const encoded = await encode(storage);
      const ours = await readStyleModel(memoryModelFiles(encoded));
      const all = new Uint8Array(encoded.shards.reduce((n, s) => n + s.bytes.length, 0));
      let offset = 0;
      for (const shard of encoded.shards) {
        all.set(shard.bytes, offset);
        offset += shard.bytes.length;
      }
      const theirs = tf.io.decodeWeights(all.buffer, encoded.modelJson.weightsManifest[0].weights as tf.io.WeightsManifestEntry[]);
      for (const [name, tensor] of Object.entries(theirs)) {
        const expected = ours.weights.get(name)!;
        const actual = tensor.dataSync();
        for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(actual[i] - expected[i]) < 1e-6, `${name}[${i}]`);
        tensor.dispose();
      }
    });
  }

  it('float16 conversion rounds to nearest even and keeps specials', () => {
    const cases: [number, number][] = [[0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [65504, 0x7bff], [1e6, 0x7c00], [5.960464477539063e-8, 0x0001], [Infinity, 0x7c00], [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02]];
    for (const [value, bits] of cases) assert.equal(float32ToFloat16Bits(value), bits, `${value}`);
    assert.ok(Number.isNaN(float16BitsToFloat32(float32ToFloat16Bits(NaN))));
    for (let bits = 0; bits < 0x7c00; bits += 37) assert.equal(float32ToFloat16Bits(float16BitsToFloat32(bits)), bits);
  });

  it('dequantizeWeights decodes what tfjs decodes (float32, float16, uint8, uint16), from any offset, Node Buffers too', () => {
    const entries: tf.io.WeightsManifestEntry[] = [
      { name: 'f32', shape: [3], dtype: 'float32' },
      { name: 'f16', shape: [3], dtype: 'float32', quantization: { dtype: 'float16' } },
      { name: 'u8', shape: [3], dtype: 'float32', quantization: { dtype: 'uint8', min: -0.5, scale: 0.01 } },
      { name: 'u16', shape: [3], dtype: 'float32', quantization: { dtype: 'uint16', min: -2, scale: 1e-4 } },
    ];
    const parts = [
      new Uint8Array(Float32Array.of(0.1, -2.5, 3e5).buffer),
      new Uint8Array(Uint16Array.of(0x3c00, 0xc000, 0x0001).buffer),
      Uint8Array.of(0, 7, 255),
      new Uint8Array(Uint16Array.of(0, 1234, 65535).buffer),
    ];
    // One byte in front, so that no weight starts where a typed-array view of it could.
    const all = new Uint8Array(1 + parts.reduce((n, p) => n + p.length, 0));
    parts.reduce((offset, part) => (all.set(part, offset), offset + part.length), 1);
    const theirs = tf.io.decodeWeights(all.slice(1).buffer, entries);
    let offset = 1;
    for (const [index, entry] of entries.entries()) {
      const bytes = all.subarray(offset, offset + parts[index].length);
      const expected = Array.from(theirs[entry.name].dataSync());
      for (const given of [bytes, Buffer.from(bytes)]) {
        assert.deepEqual(Array.from(dequantizeWeights(given, 3, entry.quantization)), expected, entry.name);
      }
      offset += parts[index].length;
      theirs[entry.name].dispose();
    }
  });

  it('splitIntoShards cuts at the shard size and names the shards as tfjs does', () => {
    const bytes = Uint8Array.from({ length: 10 }, (_, i) => i);
    const shards = splitIntoShards(bytes, 4);
    assert.deepEqual(shards.map((s) => [s.path, Array.from(s.bytes)]), [
      ['group1-shard1of3.bin', [0, 1, 2, 3]],
      ['group1-shard2of3.bin', [4, 5, 6, 7]],
      ['group1-shard3of3.bin', [8, 9]],
    ]);
    assert.deepEqual(splitIntoShards(new Uint8Array(0)).map((s) => [s.path, s.bytes.length]), [['group1-shard1of1.bin', 0]]);
  });

  it('by default a slim float16 model is one shard and a full one shards of at most 1 MiB', async () => {
    const slim = await encode('float16');
    assert.equal(slim.shards.length, 1);
    const full = await encodeStyleModel({ architecture: ARCHITECTURE_PRESETS.full, weights: initialTransformerWeights(ARCHITECTURE_PRESETS.full, 1), storage: 'float16', style: { name: 's' }, training: { kind: 'test' }, generatedBy: 'test' });
    assert.ok(full.shards.length > 1, `${full.shards.length} shard`);
    for (const shard of full.shards) assert.ok(shard.bytes.length <= 2 ** 20, `${shard.path}: ${shard.bytes.length} bytes`);
  });

  it('writing a model over one cut into other shards leaves only its own shards (and other files) in the folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nst-shards-'));
    try {
      await writeStyleModel(dir, await encode('float32', 4 * 2 ** 20));
      await writeFile(join(dir, 'notes.txt'), 'kept');
      const resharded = await encode('float32', 2 ** 18);
      await writeStyleModel(dir, resharded);
      assert.deepEqual((await readdir(dir)).sort(), [...resharded.shards.map((shard) => shard.path), 'model.json', 'notes.txt'].sort());
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the portable SHA-256 (for pages without crypto.subtle) matches Web Crypto', async () => {
    for (const length of [0, 3, 55, 56, 64, 1000]) {
      const bytes = Uint8Array.from({ length }, (_, i) => (i * 31 + 7) & 0xff);
      const portable = Array.from(sha256Portable(bytes), (b) => b.toString(16).padStart(2, '0')).join('');
      assert.equal(portable, await sha256Hex(bytes), `length ${length}`);
    }
  });
});

describe('readStyleModel errors name the damage', () => {
  type Damage = (model: EncodedStyleModel & { modelJson: any }) => void;
  async function damaged(damage: Damage, jsonText?: (text: string) => string) {
    const encoded = structuredClone(await encode('float16')) as EncodedStyleModel & { modelJson: any };
    damage(encoded);
    const files = memoryModelFiles(encoded, 'models/damaged/model.json');
    if (jsonText) {
      const original = await files.readModelJson();
      return { ...files, readModelJson: async () => jsonText(original) };
    }
    return files;
  }

  async function expectError(files: Parameters<typeof readStyleModel>[0], code: NstModelErrorCode, ...mentions: (string | RegExp)[]) {
    await assert.rejects(readStyleModel(files), (error: unknown) => {
      assert.ok(error instanceof NstModelError, `expected NstModelError, got ${error}`);
      assert.equal(error.code, code, error.message);
      assert.match(error.message, /models\/damaged\/model\.json/);
      for (const mention of mentions) assert.match(error.message, typeof mention === 'string' ? new RegExp(escape(mention)) : mention);
      return true;
    });
  }

  it('unreadable JSON', async () => {
    await expectError(await damaged(() => {}, (text) => text.slice(0, 200)), 'unreadable-json', 'not valid JSON');
  });
  it('a JSON file that is not a style model', async () => {
    await expectError(await damaged(() => {}, () => '{"modelTopology":{},"weightsManifest":[]}'), 'not-an-nst-model', 'nst train');
  });
  it('an unknown (newer) format version', async () => {
    await expectError(await damaged((m) => (m.modelJson.userDefinedMetadata.nst.formatVersion = 2)), 'unsupported-format-version', 'version 2', 'Upgrade');
  });
  it('a broken architecture record', async () => {
    await expectError(await damaged((m) => (m.modelJson.userDefinedMetadata.nst.architecture.channels = [16, 32])), 'bad-architecture', 'channels');
  });
  it('a missing weight', async () => {
    await expectError(
      await damaged((m) => (m.modelJson.weightsManifest[0].weights = m.modelJson.weightsManifest[0].weights.filter((w: any) => w.name !== 'res2/in1/offset'))),
      'missing-weight',
      '"res2/in1/offset"',
    );
  });
  it('an extra weight', async () => {
    await expectError(await damaged((m) => m.modelJson.weightsManifest[0].weights.push({ name: 'res9/conv1/kernel', shape: [3, 3, 64, 64], dtype: 'float32' })), 'unexpected-weight', '"res9/conv1/kernel"');
  });
  it('a weight with the wrong shape', async () => {
    await expectError(await damaged((m) => (m.modelJson.weightsManifest[0].weights.find((w: any) => w.name === 'conv2/kernel').shape = [3, 3, 32, 16])), 'wrong-shape', '"conv2/kernel"', '[3,3,32,16]', '[3,3,16,32]');
  });
  it('a truncated shard', async () => {
    await expectError(await damaged((m) => (m.shards[0].bytes = m.shards[0].bytes.subarray(0, 1000))), 'truncated-shard', 'group1-shard1of1.bin', '1000 bytes');
  });
  it('a shard with one corrupted byte (checksum mismatch)', async () => {
    await expectError(await damaged((m) => (m.shards[0].bytes[4321] ^= 1)), 'checksum-mismatch', 'group1-shard1of1.bin', 'SHA-256');
  });
  it('a missing shard file', async () => {
    await expectError(await damaged((m) => (m.shards = [])), 'missing-shard', 'group1-shard1of1.bin');
  });
  it('a weight that is NaN (float32) or overflows float16 to Infinity, with matching checksums', async () => {
    const withValue = async (storage: WeightStorage, value: number) => {
      const spoiled = new Map(weights);
      const kernel = Float32Array.from(weights.get('res1/conv2/kernel')!);
      kernel[17] = value;
      spoiled.set('res1/conv2/kernel', kernel);
      const encoded = await encodeStyleModel({ architecture: arch, weights: spoiled, storage, style: { name: 's' }, training: { kind: 'test' }, generatedBy: 'test' });
      return memoryModelFiles(encoded, 'models/damaged/model.json');
    };
    await expectError(await withValue('float32', NaN), 'non-finite-weight', '"res1/conv2/kernel"', 'index 17', 'NaN', 'earlier checkpoint');
    await expectError(await withValue('float16', 1e6), 'non-finite-weight', '"res1/conv2/kernel"', 'Infinity', 'float16', '--storage float32');
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
