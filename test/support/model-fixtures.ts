/** Test helper: serve an encoded model from memory, and damage it in controlled ways. */
import type { EncodedStyleModel, StyleModelFiles } from 'nst-video/model';

export function memoryModelFiles(encoded: EncodedStyleModel, label = 'memory:model.json'): StyleModelFiles {
  const json = JSON.stringify(encoded.modelJson);
  const shards = new Map(encoded.shards.map((s) => [s.path, s.bytes]));
  return {
    label,
    readModelJson: async () => json,
    readShard: async (path) => {
      const bytes = shards.get(path);
      if (!bytes) throw new Error(`no such file: ${path}`);
      return bytes;
    },
  };
}
