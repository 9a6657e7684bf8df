/**
 * Checkpoints: one file holding the network, Adam's moments and step, the weight average (when the
 * run keeps one), the data order and RNG state and the run's configuration, written atomically
 * (temporary file + rename), so an interrupted write leaves the previous checkpoint intact.
 *
 * Layout: "NSTCKPT1" (8 bytes), header length (uint32 LE), JSON header, then float32 tensors
 * (little-endian) at the offsets the header lists, from a 4-byte-aligned start.
 */
import { readFile } from 'node:fs/promises';
import { writeFileAtomically } from '../model-files.js';
import type { AdamState } from './adam.js';
import type { DataState } from './dataset.js';
import type { WeightAverageState } from './weight-average.js';

const MAGIC = 'NSTCKPT1';
export const CHECKPOINT_FILE = 'checkpoint.nst';

/** CPU seconds of a run's steps (every thread) since step `fromStep`. */
export interface CpuTime {
  seconds: number;
  fromStep: number;
}

export interface CheckpointHeader {
  formatVersion: 1;
  /** Optimizer steps completed. */
  step: number;
  /** Seconds spent training so far (all sessions), by the wall clock: a pause (Ctrl-Z, SIGSTOP) counts. */
  trainingSeconds: number;
  /**
   * CPU time of the training steps (every thread, user + system) since step `fromStep` (0, or the
   * step a checkpoint written before this count existed resumed at): the run's cost, which pauses
   * and other programs on the machine do not inflate.
   */
  cpu?: CpuTime;
  /** The settings that define the result; a resume must use the same. */
  config: Record<string, unknown>;
  data: DataState;
  adamStep: number;
  /** Free-form extras (e.g. recent losses). */
  extra: Record<string, unknown>;
}

export interface Checkpoint {
  header: CheckpointHeader;
  weights: Map<string, Float32Array>;
  adam: AdamState;
  /** The average of the last steps' weights (weight-average.ts), which the run exports. */
  average?: WeightAverageState;
}

interface TensorEntry {
  group: 'weights' | 'm' | 'v' | 'average';
  name: string;
  offset: number;
  length: number;
}

export async function writeCheckpoint(path: string, checkpoint: Checkpoint): Promise<void> {
  const entries: TensorEntry[] = [];
  const arrays: Float32Array[] = [];
  let offset = 0;
  const groups = [['weights', checkpoint.weights], ['m', checkpoint.adam.m], ['v', checkpoint.adam.v], ['average', checkpoint.average?.weights ?? new Map()]] as const;
  for (const [group, map] of groups) {
    for (const [name, values] of map) {
      entries.push({ group, name, offset, length: values.length });
      arrays.push(values);
      offset += values.length;
    }
  }
  const averageUpdates = checkpoint.average?.updates;
  const header = new TextEncoder().encode(JSON.stringify({ ...checkpoint.header, ...(averageUpdates !== undefined && { averageUpdates }), tensors: entries }));
  const dataStart = Math.ceil((MAGIC.length + 4 + header.length) / 4) * 4;
  const bytes = new Uint8Array(dataStart + offset * 4);
  bytes.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(bytes.buffer).setUint32(MAGIC.length, header.length, true);
  bytes.set(header, MAGIC.length + 4);
  const floats = new Float32Array(bytes.buffer, dataStart, offset);
  for (let i = 0; i < arrays.length; i++) floats.set(arrays[i], entries[i].offset);
  await writeFileAtomically(path, bytes);
}

export async function readCheckpoint(path: string): Promise<Checkpoint> {
  let file: Buffer;
  try {
    file = await readFile(path);
  } catch (error) {
    throw new Error(`No checkpoint at "${path}" to resume from; run without --resume to start a new training.`, { cause: error });
  }
  const bytes = new Uint8Array(file.buffer, file.byteOffset, file.length);
  if (new TextDecoder().decode(bytes.subarray(0, MAGIC.length)) !== MAGIC) throw new Error(`"${path}" is not an nst checkpoint.`);
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(MAGIC.length, true);
  const parsed = JSON.parse(new TextDecoder().decode(bytes.subarray(MAGIC.length + 4, MAGIC.length + 4 + headerLength))) as CheckpointHeader & { tensors: TensorEntry[]; averageUpdates?: number };
  if (parsed.formatVersion !== 1) throw new Error(`"${path}" has checkpoint format ${parsed.formatVersion}; this trainer reads format 1.`);
  const dataStart = Math.ceil((MAGIC.length + 4 + headerLength) / 4) * 4;
  const aligned = new Uint8Array(bytes.length - dataStart);
  aligned.set(bytes.subarray(dataStart));
  const floats = new Float32Array(aligned.buffer);
  const weights = new Map<string, Float32Array>();
  const adam: AdamState = { step: parsed.adamStep, m: new Map(), v: new Map() };
  const average: WeightAverageState | undefined = parsed.averageUpdates !== undefined ? { updates: parsed.averageUpdates, weights: new Map() } : undefined;
  for (const entry of parsed.tensors) {
    if (entry.offset + entry.length > floats.length) throw new Error(`"${path}" is truncated (tensor "${entry.name}").`);
    const values = floats.slice(entry.offset, entry.offset + entry.length);
    const group = entry.group === 'weights' ? weights : entry.group === 'average' ? average?.weights : adam[entry.group];
    if (!group) throw new Error(`"${path}" holds a weight average but no count of its updates; it was not written by nst train.`);
    group.set(entry.name, values);
  }
  const { tensors: _tensors, averageUpdates: _averageUpdates, ...header } = parsed;
  return { header, weights, adam, ...(average && { average }) };
}
