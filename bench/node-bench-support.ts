/**
 * Node-only helpers of the benchmark scripts: one child process per wasm thread count, and the
 * PyTorch speed anchor printed beside our figures.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableCores } from '../trainer/src/wasm-threads.js';
import { emit } from './bench-support.js';

/**
 * Runs `script` once per wasm thread count in NST_BENCH_THREADS (default: 1 and every core), each
 * in its own process because a wasm thread pool is fixed for the life of a process. The child sees
 * its count in NST_BENCH_CHILD_THREADS (and `env`) and prints rows as usual; its rows are returned here.
 */
export function rowsPerThreadCount(script: string, env: Record<string, string> = {}): Record<string, unknown>[] {
  const counts = [...new Set((process.env.NST_BENCH_THREADS ?? `1,${availableCores()}`).split(',').map(Number))];
  const rows: Record<string, unknown>[] = [];
  for (const threads of counts) {
    const child = spawnSync(process.execPath, ['--import', 'tsx', script], {
      env: { ...process.env, NST_BENCH_CHILD_THREADS: String(threads), NST_BENCH_FIRST_CHILD: threads === counts[0] ? '1' : '', ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
      encoding: 'utf8',
      maxBuffer: 64 * 2 ** 20,
    });
    for (const line of child.stdout.split('\n').filter(Boolean)) rows.push(JSON.parse(line) as Record<string, unknown>);
    if (child.status !== 0) rows.push({ bench: script, threads, error: `exited with ${child.status ?? child.signal}` });
  }
  return rows;
}

/** One measurement of the PyTorch reference (see its README): the fields the benches match on. */
export interface TorchRow {
  bench: 'infer' | 'train';
  arch: string;
  width: number;
  height: number;
  batch?: number;
  /** fp32, or the autocast type: bf16, fp16 (tf32 on CUDA). */
  precision: string;
  ms_median: number;
  threads?: number;
}

/**
 * The PyTorch speed anchor: the same networks and training step in PyTorch, on this machine's
 * CPU, run after our own rows so the two do not compete for cores. PyTorch comes from
 * NST_TORCH_PYTHON, else the virtual environment `npm run setup:torch` makes (.cache/torch-venv),
 * else python3; the script from NST_TORCH_REFERENCE (default: the project's shared copy).
 * Returns why not when either is missing, so a bench without PyTorch still runs.
 */
export function runTorchReference(args: string[]): { rows: TorchRow[] } | { skipped: string } {
  const script = process.env.NST_TORCH_REFERENCE ?? '../shared/bench/torch-reference.py';
  if (!existsSync(script)) return { skipped: `no PyTorch reference script at ${script} (set NST_TORCH_REFERENCE)` };
  const python = process.env.NST_TORCH_PYTHON ?? (existsSync(TORCH_VENV_PYTHON) ? TORCH_VENV_PYTHON : 'python3');
  const probe = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) return { skipped: `PyTorch is not installed for ${python}: run "npm run setup:torch" (or set NST_TORCH_PYTHON)` };
  const run = spawnSync(python, [script, '--device', 'cpu', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 16 * 2 ** 20 });
  const lines = run.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
  const env = lines.find((line) => line.bench === 'env');
  const rows = lines
    .filter((line) => (line.bench === 'infer' || line.bench === 'train') && typeof line.ms_median === 'number')
    .map((line) => ({ ...(line as unknown as TorchRow), threads: env?.threads as number | undefined }));
  return rows.length ? { rows } : { skipped: `the PyTorch reference printed no timings (exit ${run.status})` };
}

export const TORCH_VENV_PYTHON = '.cache/torch-venv/bin/python';

/**
 * Emits `ours` with the matching PyTorch row beside it: `torch_ms` and `speed_vs_torch`, our speed
 * as a fraction of PyTorch's on the same machine (0.5 = half as fast).
 */
export function emitWithTorch(ours: Record<string, unknown>, torch: { rows: TorchRow[] } | { skipped: string }, match: (row: TorchRow) => boolean, oursMs: number | undefined): void {
  if ('skipped' in torch) return emit({ ...ours, torch: torch.skipped });
  const reference = torch.rows.find(match);
  if (!reference || oursMs === undefined) return emit(ours);
  emit({ ...ours, torch_ms: reference.ms_median, torch_threads: reference.threads, speed_vs_torch: reference.ms_median / oursMs });
}
