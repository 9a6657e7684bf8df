/** `nst train`: trains a style model (see training/train-loop.ts for what it writes). */
import { join } from 'node:path';
import { MODEL_JSON_FILE } from 'nst-video/model';
import { exitCodeForSignal, InterruptedError } from '../exit-codes.js';
import { selectNodeBackend, type NodeBackendPreference } from '../node-backend.js';
import { existingFiles } from '../output-paths.js';
import { CHECKPOINT_FILE } from '../training/checkpoint.js';
import { formatDuration, formatLoss } from '../training/progress.js';
import { TRAIN_LOG_FILE, train, type TrainOptions } from '../training/train-loop.js';
import { resolveVggPath } from '../training/vgg.js';
import { commandLine } from './init-command.js';

/** What the CLI passes: the loop's options, with --vgg optional and --backend a preference. */
export type TrainCommandOptions = Omit<TrainOptions, 'vgg' | 'backend' | 'command' | 'explicitOptions' | 'signal' | 'progress' | 'log'> & {
  vgg?: string;
  backend: NodeBackendPreference;
  /** wasm threads (see wasm-threads.ts). */
  threads: number;
  /** Start a new run in an `out` that holds one. */
  force: boolean;
};

export async function runTrain(options: TrainCommandOptions, explicitOptions: ReadonlySet<string>): Promise<void> {
  refuseToReplaceRun(options);
  const vgg = resolveVggPath(options.vgg);
  const choice = await selectNodeBackend(options.backend, { threads: options.threads });
  const controller = new AbortController();
  let interrupted: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) process.exit(exitCodeForSignal(signal));
    interrupted = signal;
    process.stderr.write(`\n${signal}: finishing this step and writing a checkpoint (press Ctrl-C again to quit at once)...\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  console.error(`Backend: ${choice.backend} (${choice.reason})${choice.threads ? `, ${choice.threads} thread${choice.threads > 1 ? 's' : ''}` : ''}${choice.convolutions ? `; convolutions: ${choice.convolutions}` : ''}.`);
  try {
    const result = await train({ ...options, vgg, backend: choice.backend, command: commandLine(), explicitOptions, signal: controller.signal });
    const l = result.finalLosses;
    console.error(
      `${result.completed ? 'Done' : 'Stopped'}: ${result.steps}/${result.totalSteps} steps in ${formatDuration(result.trainingSeconds)} ` +
        `(CPU time ${formatDuration(result.cpu.seconds)}${result.cpu.fromStep > 0 ? ` since step ${result.cpu.fromStep}` : ''}); ` +
        `loss ${formatLoss(l.total)} (content ${formatLoss(l.content)}, style ${formatLoss(l.style)}, tv ${formatLoss(l.tv)}). ` +
        `Model: ${join(result.modelDirectory, MODEL_JSON_FILE)}`,
    );
    // A script must not take a stopped run for a finished one (the checkpoint is complete either way).
    if (interrupted && !result.completed) throw new InterruptedError(interrupted);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** A new run would replace the checkpoint, model and log in --out: only on --force. */
function refuseToReplaceRun(options: TrainCommandOptions): void {
  if (options.resume || options.force) return;
  const found = existingFiles(options.out, [CHECKPOINT_FILE, MODEL_JSON_FILE, TRAIN_LOG_FILE]);
  if (found.length === 0) return;
  throw new Error(
    `--out "${options.out}" already holds a training run (${found.join(', ')}); continue it with --resume, ` +
      `start over with --force (which replaces those files), or choose another --out.`,
  );
}
