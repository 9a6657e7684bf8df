/** Shared by the benchmark scripts and their browser pages: timing statistics and one-JSON-object-per-line output. */

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Prints one benchmark row as a JSON line, rounding floats for readability. */
export function emit(row: Record<string, unknown>): void {
  console.log(JSON.stringify(row, (_, value) => (typeof value === 'number' && !Number.isInteger(value) ? Number(value.toPrecision(4)) : value)));
}

export interface TimingPlan {
  /** Untimed runs first (shader compilation, allocator warm-up). */
  warmup: number;
  /** Timed runs wanted. */
  runs: number;
  /** Stop adding timed runs after this many ms (at least 2 runs are kept). */
  budgetMs: number;
}

export const DEFAULT_TIMING: TimingPlan = { warmup: 1, runs: 7, budgetMs: 20_000 };

/** Times `run` per the plan; returns every timed duration in ms. */
export async function timeRuns(run: () => Promise<void>, plan: TimingPlan = DEFAULT_TIMING): Promise<number[]> {
  for (let i = 0; i < plan.warmup; i++) await run();
  const times: number[] = [];
  const started = performance.now();
  while (times.length < plan.runs && (times.length < 2 || performance.now() - started < plan.budgetMs)) {
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  return times;
}

/** MACs of one TransformerNet forward pass at width x height (matches torch-reference.py). */
export function transformerMacs(channels: readonly number[], residualBlocks: number, width: number, height: number): number {
  const [c1, c2, c3] = channels;
  const full = width * height;
  const half = Math.ceil(width / 2) * Math.ceil(height / 2);
  const quarter = Math.ceil(width / 4) * Math.ceil(height / 4);
  return (
    full * 81 * 3 * c1 +
    half * 9 * c1 * c2 +
    quarter * 9 * c2 * c3 +
    residualBlocks * 2 * quarter * 9 * c3 * c3 +
    half * 9 * c3 * c2 +
    full * 9 * c2 * c1 +
    full * 81 * c1 * 3
  );
}
