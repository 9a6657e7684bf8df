/**
 * The `nst` command line. Each subcommand lives in src/commands/; this file only declares flags
 * (every one with its default, shown by --help) and turns errors into a message and exit code 1.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { ARCHITECTURE_PRESETS, WEIGHT_STORAGES } from 'nst-video/model';
import { runInit } from './commands/init-command.js';
import { runStylize } from './commands/stylize-command.js';
import { runEval } from './commands/eval-command.js';
import { parseCheckpointEvery, runTrain } from './commands/train-command.js';
import * as defaults from './training/defaults.js';
import { parseVggTap } from './training/vgg.js';
import { NODE_BACKENDS } from './node-backend.js';
import { availableCores, MAX_WASM_THREADS } from './wasm-threads.js';
import { TRAINER_VERSION } from './version.js';

export function buildProgram(): Command {
  const program = new Command('nst')
    .description('Train, inspect and run nst-video style-transfer models.')
    .version(TRAINER_VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ showGlobalOptions: true });

  program
    .command('init')
    .description('Write a randomly initialised model (for tests and benchmarks until a style is trained).')
    .addOption(new Option('--arch <preset>', 'network size').choices(Object.keys(ARCHITECTURE_PRESETS)).default('full'))
    .requiredOption('--out <dir>', 'directory to write model.json and its shards into')
    .addOption(new Option('--seed <n>', 'random seed for the weights').argParser(integer).default(0))
    .addOption(new Option('--storage <type>', 'weight storage in the file').choices(WEIGHT_STORAGES).default('float16'))
    .option('--style-name <name>', 'style name recorded in the model (default: "random-<arch>-<seed>")')
    .action((options) => runInit(options));

  program
    .command('stylize')
    .alias('stylise')
    .description('Repaint one image in a model\'s style and save it.')
    .requiredOption('--model <path>', 'model directory, or its model.json')
    .requiredOption('--input <image>', 'photo to stylise (JPEG, PNG or WebP)')
    .requiredOption('--output <image>', 'where to write the result (.png, .jpg or .webp)')
    .addOption(new Option('--size <px>', 'short side of the result in pixels (default: the input\'s)').argParser(integer))
    .addOption(new Option('--backend <name>', 'tfjs backend').choices(['auto', ...NODE_BACKENDS]).default('auto'))
    .addOption(threadsOption())
    .action((options) => runStylize(options));

  const train = program
    .command('train')
    .description('Train a style model on a painting and a folder of photos (resumable; Ctrl-C stops with a checkpoint).')
    .requiredOption('--style <image>', 'the style image (JPEG, PNG or WebP)')
    .requiredOption('--content <dir>', 'folder of training photos (JPEG, PNG, WebP; searched recursively)')
    .requiredOption('--out <dir>', 'output directory: model.json + shards, checkpoint, log, loss curve, previews')
    .option('--vgg <path>', `VGG19 loss network (tfjs layers model.json or its directory) (default: "${defaults.DEFAULT_VGG_PATH}" when present)`)
    .addOption(new Option('--arch <preset>', 'network size').choices(Object.keys(ARCHITECTURE_PRESETS)).default(defaults.DEFAULT_ARCH))
    .addOption(new Option('--size <px>', 'training crop side (multiple of 4)').argParser(integer).default(defaults.DEFAULT_SIZE))
    .addOption(new Option('--batch <n>', 'photos per optimizer step').argParser(integer).default(defaults.DEFAULT_BATCH))
    .addOption(new Option('--steps <n>', 'optimizer steps (default: as many as --epochs needs; overrides --epochs)').argParser(integer))
    .addOption(new Option('--epochs <n>', 'passes over the photos, when --steps is not given').argParser(integer).default(defaults.DEFAULT_EPOCHS))
    .addOption(new Option('--lr <rate>', 'Adam learning rate').argParser(number).default(defaults.DEFAULT_LEARNING_RATE))
    .addOption(new Option('--content-weight <w>', 'weight of the content loss').argParser(number).default(defaults.DEFAULT_CONTENT_WEIGHT))
    .addOption(new Option('--style-weight <w>', 'weight of the style loss').argParser(number).default(defaults.DEFAULT_STYLE_WEIGHT))
    .addOption(new Option('--tv-weight <w>', 'weight of the total-variation loss').argParser(number).default(defaults.DEFAULT_TV_WEIGHT))
    .addOption(new Option('--content-layer <layer>', 'VGG19 layer of the content loss').argParser((v) => parseVggTap(v, '--content-layer')).default(defaults.DEFAULT_CONTENT_LAYER))
    .addOption(
      new Option('--style-layers <layers>', 'comma-separated VGG19 layers of the style loss')
        .argParser((v) => v.split(',').map((tap) => parseVggTap(tap, '--style-layers')))
        .default([...defaults.DEFAULT_STYLE_LAYERS], defaults.DEFAULT_STYLE_LAYERS.join(',')),
    )
    .addOption(new Option('--style-size <px>', 'short side of the style image when its Gram matrices are taken (default: --size)').argParser(integer))
    .addOption(styleLongSideOption())
    .addOption(new Option('--backend <name>', 'tfjs backend (auto: WebGPU on a hardware GPU, else wasm)').choices(['auto', ...NODE_BACKENDS]).default('auto'))
    .addOption(threadsOption())
    .addOption(new Option('--seed <n>', 'random seed (weights, crops, flips, order)').argParser(integer).default(defaults.DEFAULT_SEED))
    .addOption(
      new Option('--checkpoint-every <steps|time>', 'checkpoint every N steps, or every 300s / 5m')
        .argParser(parseCheckpointEvery)
        .default(parseCheckpointEvery(`${defaults.DEFAULT_CHECKPOINT_SECONDS}s`), `${defaults.DEFAULT_CHECKPOINT_SECONDS}s`),
    )
    .option('--resume', 'continue from <out>/checkpoint.nst (same settings; --steps/--epochs may grow)', false)
    .addOption(new Option('--preview-every <steps>', 'write previews/step-N.png every N steps (0: only at the end)').argParser(integer).default(defaults.DEFAULT_PREVIEW_EVERY))
    .option('--preview-images <dir>', 'photos for the previews (default: 4 evenly spaced photos of --content)')
    .addOption(new Option('--micro-batch <n>', 'photos per forward/backward pass; gradients are accumulated (default: by backend and --size)').argParser(integer))
    .addOption(new Option('--storage <type>', 'weight storage of the exported model').choices(WEIGHT_STORAGES).default(defaults.DEFAULT_EXPORT_STORAGE))
    .action((options) => runTrain(options, new Set(Object.keys(options).filter((key) => train.getOptionValueSource(key) === 'cli'))));

  program
    .command('eval')
    .description('Print the mean style and content loss of a model\'s outputs on a folder of photos, as JSON.')
    .requiredOption('--model <path>', 'model directory, or its model.json')
    .requiredOption('--style <image>', 'the style image the losses compare against')
    .requiredOption('--content <dir>', 'folder of photos (centre crops of the first --limit, sorted by path)')
    .option('--vgg <path>', `VGG19 loss network (default: "${defaults.DEFAULT_VGG_PATH}" when present)`)
    .addOption(new Option('--size <px>', 'crop side the model runs at (multiple of 4)').argParser(integer).default(defaults.DEFAULT_SIZE))
    .addOption(new Option('--style-size <px>', 'short side of the style image (default: --size)').argParser(integer))
    .addOption(styleLongSideOption())
    .addOption(new Option('--content-layer <layer>', 'VGG19 layer of the content loss').argParser((v) => parseVggTap(v, '--content-layer')).default(defaults.DEFAULT_CONTENT_LAYER))
    .addOption(
      new Option('--style-layers <layers>', 'comma-separated VGG19 layers of the style loss')
        .argParser((v) => v.split(',').map((tap) => parseVggTap(tap, '--style-layers')))
        .default([...defaults.DEFAULT_STYLE_LAYERS], defaults.DEFAULT_STYLE_LAYERS.join(',')),
    )
    .addOption(new Option('--limit <n>', 'photos to use at most').argParser(integer).default(defaults.DEFAULT_EVAL_IMAGES))
    .addOption(new Option('--backend <name>', 'tfjs backend').choices(['auto', ...NODE_BACKENDS]).default('auto'))
    .addOption(threadsOption())
    .action((options) => runEval(options));

  program
    .command('import-vgg')
    .description('Convert the Keras VGG19 weights (vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5) into the loss network --vgg reads.')
    .argument('<file.h5>', 'the Keras .h5 weights file (float32)')
    .requiredOption('--out <dir>', 'directory to write model.json and its shards into')
    // Loaded on use: h5wasm instantiates libhdf5 (WebAssembly) when imported.
    .action(async (h5: string, options) => (await import('./commands/import-vgg-command.js')).runImportVgg(h5, options));

  return program;
}

/** --style-long-side: the other way to give the style image's scale (instead of --style-size). */
function styleLongSideOption(): Option {
  return new Option('--style-long-side <px>', 'long side of the style image, instead of --style-size').argParser(integer).conflicts('styleSize');
}

/** --threads, for every command that runs the network: wasm's thread count (one process, one pool). */
function threadsOption(): Option {
  return new Option('--threads <n>', `CPU threads of the wasm backend, 1 to ${MAX_WASM_THREADS}`).argParser(integer).default(availableCores(), `every core: ${availableCores()}`);
}

function number(value: string): number {
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isFinite(parsed)) throw new InvalidArgumentError('expected a number.');
  return parsed;
}

function integer(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed)) throw new InvalidArgumentError('expected an integer.');
  return parsed;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`nst: ${message}`);
    if (process.env.NST_DEBUG && error instanceof Error) console.error(error.stack);
    return 1;
  }
}
