/**
 * Training throughput of `nst train`: steps/s and images/s for the full and slim networks at 128
 * and 256 px, batch 1 and 4, on each Node backend available (webgpu with a hardware GPU, wasm;
 * cpu only when NST_BENCH_BACKENDS names it: its conv filter gradient makes a step minutes long).
 * Runs the real training loop (VGG19 from ../shared, photos from ../shared) for one untimed
 * warm-up step and NST_BENCH_TRAIN_STEPS (default 2) timed steps, and reports the median step time
 * from the run's own log. Gradients are accumulated over micro-batches as `nst train` does.
 * NST_BENCH_TRAIN_CONFIGS=slim-128-1,full-256-4 chooses the configurations (any size and batch). wasm runs once per thread
 * count (NST_BENCH_THREADS, default 1 and every core), and every row carries PyTorch's time for
 * the same step on this CPU, measured after ours (bench-support.ts). wasm runs once per
 * convolution precision (NST_BENCH_PRECISIONS, default float32,bfloat16; bfloat16 where the CPU
 * has it), each in processes of its own (in one process the second precision's steps measured up
 * to 25 % slower), against PyTorch at the same precision (bf16: autocast).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selectNodeBackend, type NodeBackendName } from '../trainer/src/node-backend.js';
import { nativeBfloat16, type ConvolutionPrecision } from '../trainer/src/kernels/native-kernels.js';
import { DEFAULT_CONTENT_WEIGHT, DEFAULT_STYLE_LAYERS, DEFAULT_STYLE_WEIGHT } from '../trainer/src/training/defaults.js';
import { defaultMicroBatch, train } from '../trainer/src/training/train-loop.js';
import { emit, median } from './bench-support.js';
import { emitWithTorch, rowsPerThreadCount, runTorchReference } from './node-bench-support.js';

const VGG = '../shared/data/vgg19';
const STYLE = '../shared/data/styles/starry_night.jpg';
const PHOTOS = '../shared/data/content/photos';
const TIMED_STEPS = Number(process.env.NST_BENCH_TRAIN_STEPS ?? 2);
/** NST_BENCH_TRAIN_CONFIGS=slim-128-1,full-256-4 runs those instead (arch-size-batch). */
const CONFIGS = process.env.NST_BENCH_TRAIN_CONFIGS
  ? process.env.NST_BENCH_TRAIN_CONFIGS.split(',').map(parseConfig)
  : (['slim', 'full'] as const).flatMap((arch) => [128, 256].flatMap((size) => [1, 4].map((batch) => ({ arch, size, batch }))));

const PRECISIONS = (process.env.NST_BENCH_PRECISIONS ?? 'float32,bfloat16').split(',') as ConvolutionPrecision[];
/** PyTorch's names for them (torch-reference.py --precisions). */
const TORCH_PRECISION: Record<ConvolutionPrecision, string> = { float32: 'fp32', bfloat16: 'bf16' };

function parseConfig(text: string): { arch: 'full' | 'slim'; size: number; batch: number } {
  const match = /^(full|slim)-(\d+)-(\d+)$/.exec(text);
  if (!match || Number(match[2]) < 1 || Number(match[3]) < 1) throw new Error(`NST_BENCH_TRAIN_CONFIGS: "${text}" is not arch-size-batch, e.g. slim-128-4.`);
  return { arch: match[1] as 'full' | 'slim', size: Number(match[2]), batch: Number(match[3]) };
}

async function availableBackends(): Promise<NodeBackendName[]> {
  const requested = process.env.NST_BENCH_BACKENDS?.split(',') as NodeBackendName[] | undefined;
  if (requested) return requested;
  const auto = await selectNodeBackend('auto', { threads });
  if (process.env.NST_BENCH_FIRST_CHILD) emit({ bench: 'training', backend: 'cpu', skipped: 'cpu backend: a step takes minutes (stock Conv2DBackpropFilter); set NST_BENCH_BACKENDS=cpu to run it' });
  return auto.backend === 'webgpu' ? ['webgpu', 'wasm'] : ['wasm'];
}

const threads = Number(process.env.NST_BENCH_CHILD_THREADS ?? 1);

async function benchConfig(backend: NodeBackendName, precision: ConvolutionPrecision, arch: 'full' | 'slim', size: number, batch: number): Promise<void> {
  const out = await mkdtemp(join(tmpdir(), 'nst-bench-train-'));
  try {
    const started = performance.now();
    await train({
      style: STYLE, content: PHOTOS, out, vgg: VGG, arch, size, batch, steps: 1 + TIMED_STEPS, epochs: 1, lr: 1e-3,
      contentWeight: DEFAULT_CONTENT_WEIGHT, styleWeight: DEFAULT_STYLE_WEIGHT, tvWeight: 0, contentLayer: 'relu4_2', styleLayers: [...DEFAULT_STYLE_LAYERS],
      seed: 0, checkpointEvery: {}, resume: false, previewEvery: 0, storage: 'float16', backend, precision, command: 'bench',
      progress: { update() {}, message() {} } as never, log: () => {},
    });
    const log = (await readFile(join(out, 'train-log.jsonl'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { step: number; seconds: number });
    const timed = log.filter((p) => p.step > 1).map((p) => p.seconds);
    const stepSeconds = median(timed);
    emit({
      bench: 'training', backend, threads: backend === 'wasm' ? threads : undefined, precision, arch, size, batch, microBatch: defaultMicroBatch(backend, size, batch),
      stepMs: stepSeconds * 1000, stepsPerSecond: 1 / stepSeconds, imagesPerSecond: batch / stepSeconds,
      warmupMs: log[0].seconds * 1000, timedSteps: timed.length, wallSeconds: (performance.now() - started) / 1000,
    });
  } catch (error) {
    emit({ bench: 'training', backend, precision, arch, size, batch, error: (error as Error).message });
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

if (![VGG, STYLE, PHOTOS].every((path) => existsSync(path))) {
  emit({ bench: 'training', skipped: `needs ${VGG}, ${STYLE} and ${PHOTOS} (the project's shared data)` });
} else if (process.env.NST_BENCH_CHILD_THREADS) {
  for (const backend of await availableBackends()) {
    // Other backends do not depend on the wasm thread count: the first child alone runs them.
    if (backend !== 'wasm' && !process.env.NST_BENCH_FIRST_CHILD) continue;
    await selectNodeBackend(backend, { threads });
    const precision = ((backend === 'wasm' && process.env.NST_BENCH_CHILD_PRECISION) || 'float32') as ConvolutionPrecision;
    const bfloat16 = nativeBfloat16();
    if (precision === 'bfloat16' && !bfloat16.available) {
      emit({ bench: 'training', backend, threads, precision, skipped: bfloat16.reason });
      continue;
    }
    for (const { arch, size, batch } of CONFIGS) await benchConfig(backend, precision, arch, size, batch);
  }
} else {
  // Other backends than wasm run in the first precision's children only.
  const rows = PRECISIONS.flatMap((precision, i) => rowsPerThreadCount('bench/training.bench.ts', { NST_BENCH_CHILD_PRECISION: precision, ...(i > 0 && { NST_BENCH_FIRST_CHILD: '' }) }));
  const sizes = [...new Set(CONFIGS.map((c) => `${c.size}x${c.size}`))].join(',');
  const batches = [...new Set(CONFIGS.map((c) => c.batch))].join(',');
  const archs = [...new Set(CONFIGS.map((c) => c.arch))].join(',');
  const precisions = [...new Set(rows.map((row) => TORCH_PRECISION[row.precision as ConvolutionPrecision]).filter(Boolean))].join(',');
  const torch = CONFIGS.length ? runTorchReference(['--bench', 'train', '--arch', archs, '--train-sizes', sizes, '--batches', batches, '--precisions', precisions || 'fp32']) : { rows: [] };
  for (const row of rows) {
    const precision = TORCH_PRECISION[(row.precision as ConvolutionPrecision | undefined) ?? 'float32'];
    emitWithTorch(row, torch, (t) => t.arch === row.arch && t.width === row.size && t.batch === row.batch && t.precision === precision, row.stepMs as number | undefined);
  }
}
