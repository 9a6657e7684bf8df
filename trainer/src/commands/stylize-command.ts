/** `nst stylize`: one image through a style model, in Node. */
import { readRgbImage, writeImage } from '../image-io.js';
import { loadStyleModelFromDisk } from '../model-files.js';
import { selectNodeBackend, type NodeBackendPreference } from '../node-backend.js';

export interface StylizeCommandOptions {
  model: string;
  input: string;
  output: string;
  size?: number;
  backend: NodeBackendPreference;
  /** wasm threads (see wasm-threads.ts). */
  threads: number;
}

export async function runStylize(options: StylizeCommandOptions): Promise<void> {
  const choice = await selectNodeBackend(options.backend, { threads: options.threads });
  const image = await readRgbImage(options.input);
  const model = await loadStyleModelFromDisk(options.model);
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
