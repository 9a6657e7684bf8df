/**
 * The `nst` command line. Each subcommand lives in src/commands/; this file only declares flags
 * (every one with its default, shown by --help) and turns errors into a message and exit code 1.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { ARCHITECTURE_PRESETS, WEIGHT_STORAGES } from 'nst-video/model';
import { runInit } from './commands/init-command.js';
import { runStylize } from './commands/stylize-command.js';
import { NODE_BACKENDS } from './node-backend.js';
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
    .action((options) => runStylize(options));

  return program;
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
