/** Reading and writing style models on disk (the browser reads the same files over HTTP). */
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { MODEL_JSON_FILE, StyleModel, readStyleModel, type DecodedStyleModel, type EncodedStyleModel, type StyleModelFiles } from 'nst-video/model';

/** `model` may be the model's directory or its model.json. */
export function modelFilesOnDisk(model: string): StyleModelFiles {
  const jsonPath = resolveModelJsonPath(model);
  const directory = dirname(jsonPath);
  return {
    label: jsonPath,
    async readModelJson() {
      return readFile(jsonPath, 'utf8');
    },
    async readShard(path: string) {
      if (basename(path) !== path) throw new Error(`shard path "${path}" must be a plain file name next to model.json`);
      return new Uint8Array(await readFile(join(directory, path)));
    },
  };
}

function resolveModelJsonPath(model: string): string {
  const path = resolve(model);
  return path.endsWith('.json') ? path : join(path, MODEL_JSON_FILE);
}

/** Reads, validates and uploads a model to the current tfjs backend. */
export async function loadStyleModelFromDisk(model: string): Promise<StyleModel> {
  return new StyleModel(await readStyleModelFromDisk(model));
}

/** Reads and validates a model (every weight finite, every checksum right) without a backend. */
export async function readStyleModelFromDisk(model: string): Promise<DecodedStyleModel> {
  try {
    await stat(model);
  } catch {
    throw new Error(`Model "${model}" does not exist. Pass a directory holding model.json, or the model.json itself.`);
  }
  return readStyleModel(modelFilesOnDisk(model));
}

/**
 * Writes model.json and its shards into `directory`. Each file is written under a temporary name
 * and renamed, shards first and model.json last, so a reader never sees a half-written model and
 * an interrupted write leaves the previous model intact. Then shard files model.json does not
 * list (an earlier model's) are removed.
 */
export async function writeStyleModel(directory: string, encoded: EncodedStyleModel): Promise<string> {
  await mkdir(directory, { recursive: true });
  for (const shard of encoded.shards) await writeFileAtomically(join(directory, shard.path), shard.bytes);
  const jsonPath = join(directory, MODEL_JSON_FILE);
  await writeFileAtomically(jsonPath, JSON.stringify(encoded.modelJson, null, 1) + '\n');
  // Shards of an earlier model cut differently (group1-shard1of1.bin where there are now four)
  // would stay beside it, unused, and pass for part of it when the folder is copied.
  const written = new Set(encoded.shards.map((shard) => shard.path));
  const stale = (await readdir(directory)).filter((name) => SHARD_FILE.test(name) && !written.has(name));
  await Promise.all(stale.map((name) => rm(join(directory, name), { force: true })));
  return jsonPath;
}

/** How tfjs names weight shards, and so do we (splitIntoShards). */
const SHARD_FILE = /^group\d+-shard\d+of\d+\.bin$/;

export async function writeFileAtomically(path: string, data: Uint8Array | string): Promise<void> {
  const temporary = `${path}.${process.pid}.partial`;
  try {
    await writeFile(temporary, data);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
