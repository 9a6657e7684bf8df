/**
 * The `nst` command line. Each subcommand lives in src/commands/; this file only declares flags
 * (every one with its default, shown by --help; the value parsers are in cli-options.ts), and
 * turns errors into a message and an exit code (exit-codes.ts).
 */
import { isAbsolute, relative } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ARCHITECTURE_PRESETS, MIN_INPUT_SIZE, SPATIAL_MULTIPLE, WEIGHT_STORAGES } from 'nst-video/model';
import { runInit } from './commands/init-command.js';
import { runStylize } from './commands/stylize-command.js';
import { runTranscode, TRANSCODE_BACKENDS, TRANSCODE_FORMATS } from './commands/transcode-command.js';
// The shaders' defaults without three.js, and the element's inference size from its (three-free) defaults file.
import { COLOR_MATCH_MODES, DEFAULT_COLOR_MATCH, DEFAULT_COLOR_MATCH_MODE, DEFAULT_SMOOTHING, DEFAULT_STRENGTH } from 'nst-video-shaders/defaults';
import { DEFAULT_INFERENCE_SIZE } from '../../plugin/src/element/nst-video-events.js';
import { DEFAULT_STYLE_DIR } from '../../plugin/scripts/default-style.mjs';
import { runEval } from './commands/eval-command.js';
import * as defaults from './training/defaults.js';
import { CROP_MODES } from './training/dataset.js';
import { parseVggTap } from './training/vgg.js';
import { NODE_BACKENDS } from './node-backend.js';
import { atLeast, factorOfAtLeastOne, flag, integer, nonNegativeNumber, parseCheckpointEvery, positiveNumber, threadsOption, unit } from './cli-options.js';
import { TRAINER_VERSION } from './version.js';
import { EXIT_CODES_HELP, EXIT_DONE, EXIT_ERROR, EXIT_USAGE, exitCodeForSignal, InterruptedError, UsageError } from './exit-codes.js';

export function buildProgram(): Command {
  const program = new Command('nst')
    .description('Train, inspect and run nst-video style-transfer models.')
    .version(TRAINER_VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ showGlobalOptions: true })
    // Throw instead of exiting, so main() chooses the exit code (subcommands inherit this).
    .exitOverride();

  program
    .command('init')
    .description('Write a randomly initialised model (for tests and benchmarks until a style is trained).')
    .addOption(new Option('--arch <preset>', 'network size').choices(Object.keys(ARCHITECTURE_PRESETS)).default('full'))
    .requiredOption('--out <dir>', 'directory to write model.json and its shards into')
    .addOption(new Option('--seed <n>', 'random seed for the weights').argParser(integer).default(0))
    .addOption(new Option('--storage <type>', 'weight storage in the file').choices(WEIGHT_STORAGES).default('float16'))
    .option('--style-name <name>', 'style name recorded in the model (default: "random-<arch>-<seed>")')
    .option('--force', 'replace a model already in --out', false)
    .action((options) => runInit(options));

  program
    .command('stylize')
    .alias('stylise')
    .description('Repaint one image in a model\'s style and save it.')
    .addOption(modelOption())
    .requiredOption('--input <image>', 'photo to stylise (JPEG, PNG or WebP)')
    .requiredOption('--output <image>', 'where to write the result (.png, .jpg or .webp)')
    .option('--force', 'replace --output when it exists (never the --input photo itself)', false)
    .addOption(new Option('--size <px>', `short side of the result in pixels, at least ${MIN_INPUT_SIZE} (default: the input's)`).argParser(atLeast(MIN_INPUT_SIZE)))
    .addOption(new Option('--backend <name>', 'tfjs backend').choices(['auto', ...NODE_BACKENDS]).default('auto'))
    .addOption(threadsOption())
    .action((options) => runStylize(options));

  program
    .command('transcode')
    .description('Repaint every frame of a video file in a model\'s style, keeping its timing and sound (runs in headless Chromium).')
    .argument('<input>', 'the video (MP4, WebM, MKV, MOV; H.264, VP8, VP9 or AV1)')
    .argument('<output>', 'where to write the result (.mp4 or .webm)')
    .addOption(modelOption())
    .addOption(new Option('--size <px>', 'short side of the picture the network sees, in pixels (the output keeps the input\'s resolution)').argParser(atLeast(16)).default(DEFAULT_INFERENCE_SIZE))
    .addOption(new Option('--strength <0..1>', '0 keeps the original frames, 1 the stylised ones').argParser(unit).default(DEFAULT_STRENGTH))
    .addOption(new Option('--smoothing <0..1>', 'temporal smoothing where the picture is still (0: off)').argParser(unit).default(DEFAULT_SMOOTHING))
    .addOption(new Option('--color-match <0..1>', 'how far colours are matched to the original\'s').argParser(unit).default(DEFAULT_COLOR_MATCH))
    .addOption(new Option('--color-match-mode <mode>', 'luminance keeps the original\'s chroma; mean-variance matches channel statistics').choices(COLOR_MATCH_MODES).default(DEFAULT_COLOR_MATCH_MODE))
    .addOption(new Option('--format <container>', 'output container (default: from <output>\'s extension)').choices(TRANSCODE_FORMATS))
    .addOption(new Option('--backend <name>', 'tfjs backend in the browser (auto: a hardware GPU, else wasm)').choices(TRANSCODE_BACKENDS).default('auto'))
    .option('--force', 'replace <output> when it exists (never the <input> itself)', false)
    .action((input: string, output: string, options) => runTranscode(input, output, options));

  const train = program
    .command('train')
    .description('Train a style model on a painting and a folder of photos (resumable; Ctrl-C stops with a checkpoint).')
    .requiredOption('--style <image>', 'the style image (JPEG, PNG or WebP)')
    .requiredOption('--content <dir>', 'folder of training photos (JPEG, PNG, WebP; searched recursively)')
    .requiredOption('--out <dir>', 'output directory: model.json + shards, checkpoint, log, loss curve, previews')
    .option('--vgg <path>', 'VGG19 loss network (tfjs layers model.json or its directory) (default: the project\'s .cache/vgg19, made by npm run setup:vgg)')
    .addOption(new Option('--arch <preset>', 'network size').choices(Object.keys(ARCHITECTURE_PRESETS)).default(defaults.DEFAULT_ARCH))
    .addOption(cropSizeOption('training crop side'))
    .addOption(new Option('--batch <n>', 'photos per optimizer step').argParser(atLeast(1)).default(defaults.DEFAULT_BATCH))
    .addOption(new Option('--steps <n>', 'optimizer steps (default: as many as --epochs needs; overrides --epochs)').argParser(atLeast(1)))
    .addOption(new Option('--epochs <n>', 'passes over the photos, when --steps is not given').argParser(atLeast(1)).default(defaults.DEFAULT_EPOCHS))
    .addOption(new Option('--lr <rate>', 'Adam learning rate').argParser(positiveNumber).default(defaults.DEFAULT_LEARNING_RATE))
    .addOption(new Option('--lr-final <rate>', 'learning rate at the last step: it falls from --lr along a half cosine over --steps (default: --lr, constant)').argParser(positiveNumber))
    .addOption(
      new Option('--average-steps <n>', 'export the average of the weights over about the last N steps (an exponential moving average), which takes out the noise of small batches; 0: the last step\'s weights')
        .argParser(atLeast(0))
        .default(defaults.DEFAULT_AVERAGE_STEPS),
    )
    .addOption(
      new Option('--content-weight <w>', "weight of the content loss, or auto: in proportion to the painting's style loss on the first training photos, which keeps the same balance for a busy painting as for a calm one")
        .argParser((value) => (value.trim() === 'auto' ? 'auto' : nonNegativeNumber(value)))
        .default(defaults.DEFAULT_CONTENT_WEIGHT),
    )
    .addOption(new Option('--style-weight <w>', 'weight of the style loss').argParser(nonNegativeNumber).default(defaults.DEFAULT_STYLE_WEIGHT))
    .addOption(new Option('--tv-weight <w>', 'weight of the total-variation loss').argParser(nonNegativeNumber).default(defaults.DEFAULT_TV_WEIGHT))
    .addOption(contentLayerOption())
    .addOption(styleLayersOption(defaults.DEFAULT_TRAINING_STYLE_LAYERS, ' (relu5_1, under 0.1 % of the loss, is left out by default to save time)'))
    .addOption(new Option('--style-size <px>', 'short side of the style image when its Gram matrices are taken (default: --size)').argParser(atLeast(1)))
    .addOption(styleLongSideOption())
    .addOption(new Option('--backend <name>', 'tfjs backend (auto: WebGPU on a hardware GPU, else wasm)').choices(['auto', ...NODE_BACKENDS]).default('auto'))
    .addOption(threadsOption())
    .addOption(
      new Option('--precision <type>', "what the CPU trainer's convolutions compute in: bfloat16 (mixed precision: inputs rounded to bfloat16, sums and results in float32; ~2x faster where the CPU has AVX512-BF16 or AMX), float32, or auto (bfloat16 where the CPU has it); a resume may change it")
        .choices(defaults.TRAINING_PRECISIONS)
        .default(defaults.DEFAULT_PRECISION),
    )
    .addOption(new Option('--seed <n>', 'random seed (weights, crops, flips, order)').argParser(integer).default(defaults.DEFAULT_SEED))
    .addOption(
      new Option('--crop <mode>', 'how photos are cut to --size squares: random (place and mirror drawn each time) or center (the same crop every epoch, so each photo\'s content features are computed once and kept; see --content-cache)')
        .choices(CROP_MODES)
        .default(defaults.DEFAULT_CROP),
    )
    .addOption(
      new Option('--crop-zoom <factor>', 'random crops zoom in by up to this factor, drawn each time (the square covers 1/zoom of the photo\'s short side): more variety from the same photos; 1 never zooms')
        .argParser(factorOfAtLeastOne)
        .default(defaults.DEFAULT_CROP_ZOOM),
    )
    .addOption(new Option('--content-cache <MiB>', 'memory for the kept content features with --crop center (2 MiB per photo at 256 px; 0: recompute every step)').argParser(atLeast(0)).default(defaults.DEFAULT_CONTENT_CACHE_MIB))
    .addOption(
      new Option('--checkpoint-every <steps|time>', 'checkpoint every N steps, or every 300s / 5m')
        .argParser(flag(parseCheckpointEvery))
        .default(parseCheckpointEvery(`${defaults.DEFAULT_CHECKPOINT_SECONDS}s`), `${defaults.DEFAULT_CHECKPOINT_SECONDS}s`),
    )
    .option('--resume', 'continue from <out>/checkpoint.nst (same settings; --steps/--epochs may grow)', false)
    .addOption(new Option('--force', 'start a new run in an --out that holds one (its checkpoint, model and log are replaced)').default(false).conflicts('resume'))
    // Not in conflict with --resume: a run's command file (its exact command) may hold --init, and resuming it must work; the checkpoint's weights win.
    .addOption(new Option('--init <model>', 'start a new run from a trained model\'s weights (its directory or model.json; a slim model grows into --arch full, painting the same pictures; ignored on --resume, whose checkpoint holds the weights) (default: random weights from --seed)'))
    .addOption(new Option('--preview-every <steps>', 'write previews/step-N.png every N steps (0: only at the end)').argParser(atLeast(0)).default(defaults.DEFAULT_PREVIEW_EVERY))
    .option('--preview-images <dir>', 'photos for the previews (default: 4 evenly spaced photos of --content)')
    .addOption(new Option('--micro-batch <n>', 'photos per forward/backward pass; gradients are accumulated (default: by backend and --size)').argParser(atLeast(1)))
    .addOption(new Option('--storage <type>', 'weight storage of the exported model').choices(WEIGHT_STORAGES).default(defaults.DEFAULT_EXPORT_STORAGE))
    // Loaded on use: training registers tfjs's gradients, ~2 s of start-up that other commands need not pay.
    .action(async (options) => (await import('./commands/train-command.js')).runTrain(options, new Set(Object.keys(options).filter((key) => train.getOptionValueSource(key) === 'cli'))));

  program
    .command('eval')
    .description('Print the mean style and content loss of a model\'s outputs on a folder of photos, as JSON.')
    .requiredOption('--model <path>', 'model directory, or its model.json')
    .requiredOption('--style <image>', 'the style image the losses compare against')
    .requiredOption('--content <dir>', 'folder of photos (centre crops of the first --limit, sorted by path)')
    .option('--vgg <path>', 'VGG19 loss network (default: the project\'s .cache/vgg19, made by npm run setup:vgg)')
    .addOption(cropSizeOption('crop side the model runs at'))
    .addOption(new Option('--style-size <px>', 'short side of the style image (default: --size)').argParser(atLeast(1)))
    .addOption(styleLongSideOption())
    .addOption(contentLayerOption())
    .addOption(styleLayersOption(defaults.DEFAULT_STYLE_LAYERS))
    .addOption(new Option('--limit <n>', 'photos to use at most').argParser(atLeast(1)).default(defaults.DEFAULT_EVAL_IMAGES))
    .addOption(new Option('--backend <name>', 'tfjs backend').choices(['auto', ...NODE_BACKENDS]).default('auto'))
    .addOption(threadsOption())
    .action((options) => runEval(options));

  program
    .command('import-vgg')
    .description('Convert the Keras VGG19 weights (vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5) into the loss network --vgg reads.')
    .argument('<file.h5>', 'the Keras .h5 weights file (float32)')
    .requiredOption('--out <dir>', 'directory to write model.json and its shards into')
    .option('--force', 'replace a model already in --out', false)
    // Loaded on use: h5wasm instantiates libhdf5 (WebAssembly) when imported.
    .action(async (h5: string, options) => (await import('./commands/import-vgg-command.js')).runImportVgg(h5, options));

  for (const command of [program, ...program.commands]) command.addHelpText('after', EXIT_CODES_HELP);
  return program;
}

/** --model of stylize and transcode: without it, the style the nst-video package ships as its default. */
function modelOption(): Option {
  const folder = DEFAULT_STYLE_DIR.replace(/[\\/]+$/, '');
  const fromHere = relative(process.cwd(), folder);
  const shown = fromHere && !fromHere.startsWith('..') && !isAbsolute(fromHere) ? fromHere : folder;
  return new Option('--model <path>', 'model directory, or its model.json').default(folder, `the nst-video package's default style, ${shown}`);
}

/** --size of train and eval: the network runs on square crops, which VGG19 pools four times. */
function cropSizeOption(description: string): Option {
  const rule = `a multiple of ${SPATIAL_MULTIPLE}, at least ${defaults.MIN_CROP_SIZE}`;
  const parse = (value: string) => {
    const size = integer(value);
    if (size % SPATIAL_MULTIPLE !== 0 || size < defaults.MIN_CROP_SIZE) throw new InvalidArgumentError(`Expected ${rule} (e.g. ${defaults.DEFAULT_SIZE}).`);
    return size;
  };
  return new Option('--size <px>', `${description} (${rule})`).argParser(parse).default(defaults.DEFAULT_SIZE);
}

function contentLayerOption(): Option {
  return new Option('--content-layer <layer>', 'VGG19 layer of the content loss').argParser(flag((v) => parseVggTap(v, '--content-layer'))).default(defaults.DEFAULT_CONTENT_LAYER);
}

function styleLayersOption(layers: readonly defaults.VggTap[], why = ''): Option {
  return new Option('--style-layers <layers>', `comma-separated VGG19 layers of the style loss${why}`)
    .argParser(flag((v) => v.split(',').map((tap) => parseVggTap(tap.trim(), '--style-layers'))))
    .default([...layers], layers.join(','));
}

/** --style-long-side: the other way to give the style image's scale (instead of --style-size). */
function styleLongSideOption(): Option {
  return new Option('--style-long-side <px>', 'long side of the style image, instead of --style-size (default: none, --style-size applies)').argParser(atLeast(1)).conflicts('styleSize');
}


/** Runs the command line and returns its exit code (see exit-codes.ts); prints errors to stderr. */
export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return EXIT_DONE;
  } catch (error) {
    return reportError(error);
  }
}

function reportError(error: unknown): number {
  // Commander has printed its message already (or the help, or the version, which exit with 0).
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT_DONE : EXIT_USAGE;
  console.error(`nst: ${error instanceof Error ? error.message : String(error)}`);
  if (process.env.NST_DEBUG && error instanceof Error) console.error(error.stack);
  if (error instanceof UsageError) {
    console.error('(run with --help for usage)');
    return EXIT_USAGE;
  }
  if (error instanceof InterruptedError) return exitCodeForSignal(error.signal);
  return EXIT_ERROR;
}
