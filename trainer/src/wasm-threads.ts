/**
 * tfjs's multi-threaded wasm build (XNNPACK on a pthread pool) in Node.
 *
 * tfjs-backend-wasm 4.22 never uses it in Node (its WASM_HAS_MULTITHREAD_SUPPORT flag is false
 * there, tfjs issue #3830) because it hands emscripten blob: URLs for the worker and main scripts,
 * which worker_threads cannot load. The emscripten build itself runs its pthreads on worker_threads
 * when it gets file paths, so this file initialises that build with the package's own script and a
 * worker script written once to the temporary folder, and registers it as the `wasm` backend: every
 * wasm kernel tfjs (and this project) registered works on it unchanged.
 *
 * Its C++ side caps the pool at half the logical cores (it assumes two hyper-threads per core),
 * which is one thread on a 2-core machine. That count is read from os.cpus() once, while the module
 * initialises, so the module sees as many entries as the pool should have threads, just then.
 * Convolutions split their output tiles between threads; each output is still summed by one thread
 * in the same order, so results match the single-threaded build.
 */
import * as tf from '@tensorflow/tfjs-core';
import { BackendWasm, getThreadsCount, setThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
/** emscripten's pre-created worker pool in tfjs's build: the most threads it can run. */
export const MAX_WASM_THREADS = 8;
/** wasm32's address space, all that tfjs's wasm builds can grow their heap to (their getHeapMax). */
export const WASM_MAX_MEMORY_BYTES = 4 * 1024 ** 3;
/** tfjs registers wasm at this priority; keep it so `auto` backend choice is unchanged. */
const WASM_PRIORITY = 2;

/** Cores this process may use: the default number of wasm threads. */
export function availableCores(): number {
  return Math.min(MAX_WASM_THREADS, os.availableParallelism?.() ?? os.cpus().length);
}

/** Threads of the initialised wasm backend (1 for the single-threaded build). */
export function wasmThreadsInUse(): number {
  return Math.max(1, getThreadsCount());
}

/** Returns `threads` if the wasm backend can run that many, else throws a RangeError naming --threads. */
export function checkWasmThreads(threads: number): number {
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_WASM_THREADS) {
    throw new RangeError(`--threads must be an integer from 1 to ${MAX_WASM_THREADS}, got ${threads}.`);
  }
  return threads;
}

/**
 * Makes the `wasm` backend, when it is next initialised, the threaded build with `threads` threads
 * (1 keeps tfjs's own single-threaded build). Has no effect once wasm is initialised: its thread
 * pool is fixed for the life of the process.
 */
export function useWasmThreads(threads: number): void {
  checkWasmThreads(threads);
  if (threads === 1 || tf.engine().registry.wasm) return;
  tf.removeBackend('wasm');
  tf.registerBackend('wasm', () => createThreadedBackend(threads), WASM_PRIORITY);
}

type EmscriptenFactory = (config: Record<string, unknown>) => Promise<EmscriptenModule>;
interface EmscriptenModule {
  cwrap(name: string, returns: string | null, args: string[]): (...args: number[]) => number;
  tfjs?: Record<string, unknown>;
}

async function createThreadedBackend(threads: number): Promise<BackendWasm> {
  const packageDirectory = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  const mainScript = join(packageDirectory, 'wasm-out', 'tfjs-backend-wasm-threaded-simd.js');
  const factory = require(mainScript) as EmscriptenFactory;
  const workerScript = writeWorkerScript(packageDirectory);
  const realCpus = os.cpus;
  os.cpus = () => Array.from({ length: 2 * threads }, (_, i) => realCpus()[i % realCpus().length]);
  const listenersBefore = processErrorListeners();
  let module: EmscriptenModule;
  try {
    module = await factory({
      locateFile: (path: string) => (path.endsWith('.worker.js') ? workerScript : join(packageDirectory, 'wasm-out', path)),
      mainScriptUrlOrBlob: mainScript,
    });
  } finally {
    os.cpus = realCpus;
    // emscripten's Node glue rethrows every uncaught error and unhandled rejection from its own
    // minified line, so Node printed that whole ~100 KB line as the error's context; tfjs never
    // calls exit(), the case those handlers exist for. Node's own reporting is kept.
    for (const [event, listener] of processErrorListeners()) {
      if (!listenersBefore.some(([e, l]) => e === event && l === listener)) process.off(event, listener);
    }
  }
  // The bridge tfjs's own init() builds (backend_wasm.ts), which BackendWasm expects.
  module.tfjs = {
    init: module.cwrap('init', null, []),
    initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
    getThreadsCount: module.cwrap('get_threads_count', 'number', []),
    registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
    disposeData: module.cwrap('dispose_data', null, ['number']),
    dispose: module.cwrap('dispose', null, []),
  };
  setThreadsCount(threads);
  const backend = new BackendWasm(module as never);
  // The pool's threads wait for work for the life of the process; like a timer that is unref'd,
  // they must not keep it alive once the main thread has nothing left to do.
  const { PThread } = module as unknown as { PThread: { runningWorkers: { unref(): void }[]; unusedWorkers: { unref(): void }[] } };
  for (const worker of [...PThread.runningWorkers, ...PThread.unusedWorkers]) worker.unref();
  return backend;
}

type ErrorEvent = 'uncaughtException' | 'unhandledRejection';
type Listener = (...args: unknown[]) => void;

function processErrorListeners(): [ErrorEvent, Listener][] {
  const events: ErrorEvent[] = ['uncaughtException', 'unhandledRejection'];
  const listeners = (event: ErrorEvent) => (event === 'uncaughtException' ? process.listeners('uncaughtException') : process.listeners('unhandledRejection')) as Listener[];
  return events.flatMap((event) => listeners(event).map((listener): [ErrorEvent, Listener] => [event, listener]));
}

/** The pthread worker script, shipped inside a JS module as a string; written once per tfjs version. */
function writeWorkerScript(packageDirectory: string): string {
  const { version } = require(join(packageDirectory, 'package.json')) as { version: string };
  const path = join(os.tmpdir(), `nst-tfjs-wasm-${version}-threaded-simd.worker.js`);
  if (!existsSync(path)) {
    const { wasmWorkerContents } = require(join(packageDirectory, 'wasm-out', 'tfjs-backend-wasm-threaded-simd.worker.js')) as { wasmWorkerContents: string };
    // As tfjs does before making its blob: the string holds newlines that belong inside JS strings.
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, wasmWorkerContents.replace(/\n/g, '\\n'));
    renameSync(temporary, path);
  }
  return path;
}
