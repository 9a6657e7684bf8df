/**
 * Inference time per frame in Node: full and slim TransformerNet at 256 and 512 px (square;
 * NST_BENCH_SIZES=256,512,1280x720 chooses others, WxH or a square's side) on each Node backend
 * available (webgpu with a GPU, wasm, cpu). Median of several runs after a warm-up, with peak
 * tensor memory (tf.profile) and the process's peak RSS.
 * Slow combinations are skipped with an estimate rather than run for minutes. wasm runs once per
 * thread count (NST_BENCH_THREADS, default 1 and every core), and every row carries the same
 * network's time in PyTorch on this CPU, measured after ours (bench-support.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { ARCHITECTURE_PRESETS, StyleModel, encodeRandomStyleModel, readStyleModel, type StyleModelFiles } from 'nst-video/model';
import { selectNodeBackend, type NodeBackendName } from '../trainer/src/node-backend.js';
import { emit, median, timeRuns, transformerMacs } from './bench-support.js';
import { emitWithTorch, rowsPerThreadCount, runTorchReference } from './node-bench-support.js';

const SIZES = (process.env.NST_BENCH_SIZES ?? '256,512').split(',').map(parseSize);
/** A configuration estimated to take longer than this per frame is skipped. */
const MAX_FRAME_MS = 30_000;

function parseSize(text: string): { width: number; height: number } {
  const [width, height = width] = text.split('x').map(Number);
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new Error(`NST_BENCH_SIZES: "${text}" is not a size; write 256 or 1280x720.`);
  }
  return { width, height };
}

async function buildModel(preset: 'full' | 'slim'): Promise<StyleModel> {
  const architecture = ARCHITECTURE_PRESETS[preset];
  const encoded = await encodeRandomStyleModel({ architecture, seed: 1, storage: 'float32', style: { name: 'bench' }, generatedBy: 'bench' });
  const files: StyleModelFiles = { label: 'bench', readModelJson: async () => JSON.stringify(encoded.modelJson), readShard: async (p) => encoded.shards.find((s) => s.path === p)!.bytes };
  return new StyleModel(await readStyleModel(files));
}

async function benchBackend(backend: NodeBackendName, threads: number): Promise<void> {
  let choice;
  try {
    choice = await selectNodeBackend(backend, { threads });
    if (choice.backend !== backend) return;
  } catch (error) {
    emit({ bench: 'inference-node', backend, skipped: (error as Error).message });
    return;
  }
  /** ms per MAC measured so far on this backend, to estimate the next configuration. */
  let msPerMac = 0;
  for (const preset of ['slim', 'full'] as const) {
    const model = await buildModel(preset);
    const { channels, residualBlocks } = ARCHITECTURE_PRESETS[preset];
    for (const { width, height } of SIZES) {
      const size = width === height ? width : undefined;
      const macs = transformerMacs(channels, residualBlocks, width, height);
      const estimate = msPerMac * macs;
      if (estimate > MAX_FRAME_MS) {
        emit({ bench: 'inference-node', backend, arch: preset, size, width, height, skipped: `estimated ${(estimate / 1000).toFixed(0)} s per frame` });
        continue;
      }
      const input = tf.randomUniform([1, height, width, 3], 0, 255) as tf.Tensor4D;
      const run = async () => {
        const out = model.predict(input);
        await out.data();
        out.dispose();
      };
      const times = await timeRuns(run, { warmup: 1, runs: 5, budgetMs: 15_000 });
      const profile = await tf.profile(run);
      input.dispose();
      const ms = median(times);
      msPerMac = Math.max(msPerMac, ms / macs);
      emit({
        bench: 'inference-node', backend, threads: choice.threads, arch: preset, size, width, height, runs: times.length,
        ms_median: ms, ms_min: Math.min(...times), fps: 1000 / ms, gmac: macs / 1e9, gmac_per_s: macs / 1e6 / ms,
        peak_tensor_mb: profile.peakBytes / 2 ** 20, rss_mb: process.memoryUsage().rss / 2 ** 20,
      });
    }
    model.dispose();
  }
}

const childThreads = process.env.NST_BENCH_CHILD_THREADS;
if (childThreads) {
  // Other backends do not depend on the wasm thread count: the first child alone runs them.
  const backends = (process.env.NST_BENCH_BACKENDS?.split(',') ?? ['webgpu', 'wasm', 'cpu']) as NodeBackendName[];
  for (const backend of backends.filter((b) => b === 'wasm' || process.env.NST_BENCH_FIRST_CHILD)) await benchBackend(backend, Number(childThreads));
} else {
  const rows = rowsPerThreadCount('bench/inference.bench.ts');
  const torch = runTorchReference(['--bench', 'infer', '--arch', 'full,slim', '--sizes', SIZES.map((s) => `${s.width}x${s.height}`).join(',')]);
  for (const row of rows) {
    emitWithTorch(row, torch, (t) => t.arch === row.arch && t.width === row.width && t.height === row.height, row.ms_median as number | undefined);
  }
}
