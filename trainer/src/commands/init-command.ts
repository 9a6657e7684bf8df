/** `nst init`: writes a randomly initialised model, for tests and benchmarks before training. */
import { ARCHITECTURE_PRESETS, countParameters, encodeRandomStyleModel, type ArchitecturePresetName, type WeightStorage } from 'nst-video/model';
import { writeStyleModel } from '../model-files.js';
import { refuseToReplaceModel } from '../output-paths.js';
import { GENERATED_BY } from '../version.js';

export interface InitOptions {
  arch: ArchitecturePresetName;
  out: string;
  seed: number;
  storage: WeightStorage;
  styleName?: string;
  /** Replace a model already in `out`. */
  force: boolean;
}

export async function runInit(options: InitOptions): Promise<void> {
  refuseToReplaceModel(options.out, options.force);
  const architecture = ARCHITECTURE_PRESETS[options.arch];
  const encoded = await encodeRandomStyleModel({
    architecture,
    seed: options.seed,
    storage: options.storage,
    style: { name: options.styleName ?? `random-${options.arch}-${options.seed}` },
    training: { command: commandLine() },
    generatedBy: GENERATED_BY,
  });
  const jsonPath = await writeStyleModel(options.out, encoded);
  const bytes = encoded.shards.reduce((sum, s) => sum + s.bytes.length, 0);
  console.log(`Wrote ${jsonPath}: ${options.arch} TransformerNet, ${countParameters(architecture)} parameters, ${options.storage}, ${bytes} bytes in ${encoded.shards.length} shard(s), seed ${options.seed}.`);
}

/** The command as typed, for the model's record. */
export function commandLine(): string {
  return ['nst', ...process.argv.slice(2)].map((arg) => (/^[\w./:=@-]+$/.test(arg) ? arg : JSON.stringify(arg))).join(' ');
}
