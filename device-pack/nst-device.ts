/**
 * The one entry point of the GPU machine's bundle (build-pack.mjs): `nst <command> ...` as the CLI
 * has it, or `bench inference` / `bench training`, the bench scripts in their single-process mode
 * (settings from NST_BENCH_*; there is no tsx there to start the per-thread-count children).
 */
// tfjs-core's gradients, bundled: trainer/src/training/register-gradients.ts loads them through
// tsx, which the bundle lacks, and skips that once they are registered.
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';

const BENCHES: Record<string, () => Promise<unknown>> = {
  inference: () => import('../bench/inference.bench.js'),
  training: () => import('../bench/training.bench.js'),
};

const [command, name] = process.argv.slice(2);
if (command === 'bench') {
  const bench = BENCHES[name];
  if (!bench) throw new Error(`bench "${name}": choose ${Object.keys(BENCHES).join(' or ')}.`);
  process.env.NST_BENCH_CHILD_THREADS ??= '1';
  process.env.NST_BENCH_FIRST_CHILD ??= '1';
  await bench();
} else {
  const { main } = await import('../trainer/src/cli.js');
  process.exitCode = await main(process.argv);
}
