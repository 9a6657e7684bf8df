/** `nst stylize`: one image through a style model, in Node. */
import { existsSync } from 'node:fs';
import { totalmem } from 'node:os';
import { outputSize, StyleModel, stylizePeakBytes, type TransformerArchitecture } from 'nst-video/model';
import { UsageError } from '../exit-codes.js';
import { outputImageType, readRgbImage, writeImage, type RgbImage } from '../image-io.js';
import { readStyleModelFromDisk } from '../model-files.js';
import { selectNodeBackend, type NodeBackendName, type NodeBackendPreference } from '../node-backend.js';
import { assertParentFolderExists, sameFile } from '../output-paths.js';
import { WASM_MAX_MEMORY_BYTES } from '../wasm-threads.js';

export interface StylizeCommandOptions {
  model: string;
  input: string;
  output: string;
  /** Replace --output when it exists. */
  force: boolean;
  size?: number;
  backend: NodeBackendPreference;
  /** wasm threads (see wasm-threads.ts). */
  threads: number;
}

export async function runStylize(options: StylizeCommandOptions): Promise<void> {
  await checkOutput(options);
  const choice = await selectNodeBackend(options.backend, { threads: options.threads });
  const image = await readRgbImage(options.input);
  const decoded = await readStyleModelFromDisk(options.model);
  checkMemory(decoded.architecture, image, options.size, choice.backend);
  const model = new StyleModel(decoded);
  try {
    const started = performance.now();
    const pixels = await model.stylizePixels(image, { size: options.size });
    const elapsed = performance.now() - started;
    await writeImage(options.output, pixels);
    console.log(
      `Wrote ${options.output} (${pixels.width}x${pixels.height}) in the style "${model.styleName}" ` +
        `on ${choice.backend} (${choice.reason}) in ${elapsed.toFixed(0)} ms.`,
    );
  } finally {
    model.dispose();
  }
}

/** Everything about --output that would make the work be thrown away, checked before the work. */
async function checkOutput(options: StylizeCommandOptions): Promise<void> {
  outputImageType(options.output);
  if (await sameFile(options.output, options.input)) {
    throw new UsageError(`--output "${options.output}" is the --input photo; choose another --output (nst stylize never writes over its input, even with --force).`);
  }
  await assertParentFolderExists(options.output, '--output');
  if (!options.force && existsSync(options.output)) {
    throw new Error(`--output "${options.output}" exists; pass --force to replace it, or choose another --output.`);
  }
}

/** Refuses a result too large for the backend's memory, naming the largest --size that fits. */
function checkMemory(architecture: TransformerArchitecture, image: RgbImage, size: number | undefined, backend: NodeBackendName): void {
  const limit = memoryLimit(backend);
  const target = outputSize(image.width, image.height, size);
  const needed = stylizePeakBytes(architecture, target.width, target.height);
  if (limit === undefined || needed <= limit) return;
  const shortSide = Math.min(target.width, target.height);
  const largest = Math.floor(shortSide * Math.sqrt(limit / needed) * 0.99);
  const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
  throw new UsageError(
    `--size ${size ?? `(the photo's own, ${shortSide})`}: a ${target.width}x${target.height} result needs about ${gib(needed)} on ${backend}, ` +
      `which holds ${gib(limit)} at most; pass --size ${largest} or less.`,
  );
}

/** Bytes of tensors a backend can hold; unknown for WebGPU (dawn.node does not say). */
function memoryLimit(backend: NodeBackendName): number | undefined {
  if (backend === 'wasm') return WASM_MAX_MEMORY_BYTES;
  if (backend === 'cpu') return totalmem();
  return undefined;
}
