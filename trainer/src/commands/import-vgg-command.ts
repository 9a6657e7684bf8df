/** `nst import-vgg`: the Keras VGG19 .h5 weights -> the loss network's tfjs format. */
import { basename } from 'node:path';
import { refuseToReplaceModel } from '../output-paths.js';
import { readKerasVgg19, writeVggModel } from '../training/vgg-import.js';

export interface ImportVggOptions {
  out: string;
  /** Replace a model already in `out`. */
  force: boolean;
}

export async function runImportVgg(h5Path: string, options: ImportVggOptions): Promise<void> {
  refuseToReplaceModel(options.out, options.force);
  const layers = await readKerasVgg19(h5Path);
  const { jsonPath, bytes, shards } = await writeVggModel(options.out, layers, basename(h5Path));
  console.log(`Wrote ${jsonPath}: VGG19 conv layers (16), float32, ${bytes} bytes in ${shards} shard(s). Use it with: nst train --vgg ${options.out}`);
}
