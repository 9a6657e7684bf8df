/**
 * Chooses the tfjs backend in the browser: WebGPU, then WebGL, then wasm, then cpu.
 *
 * `auto` picks what is actually fastest: it skips software adapters (gpu-probe.ts says why).
 * Naming a backend always uses it.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { probeWebGl, probeWebGpu, type GpuProbe } from './gpu-probe.js';

export const BROWSER_BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BROWSER_BACKENDS)[number];
export type BackendPreference = BackendName | 'auto';

export interface BackendOptions {
  /** `auto` (default) or a backend to use regardless of speed. */
  backend?: BackendPreference;
  /**
   * Where the tfjs wasm binaries (`tfjs-backend-wasm*.wasm`) are served, as a URL prefix ending in
   * `/`. Default: next to the script, as tfjs does.
   */
  wasmPaths?: string;
}

export interface BackendChoice {
  readonly backend: BackendName;
  /** Why, in words: "auto: WebGPU adapter is software (swiftshader); wasm is faster". */
  readonly reason: string;
  /** The GPU as the browser names it, when one was looked at. */
  readonly gpu?: string;
  /** True when the chosen backend runs on a software rasteriser (slow; fine for tests). */
  readonly software: boolean;
  /** wasm only: the threads its convolutions run on (more than 1 only in a cross-origin isolated page). */
  readonly threads?: number;
}

let webGpuProbe: Promise<GpuProbe> | undefined;
let webGlProbe: GpuProbe | undefined;
let configuredWasmPaths: string | undefined;

/** Sets the tfjs backend and says which and why. Throws an error naming what is missing. */
export async function selectBackend(options: BackendOptions = {}): Promise<BackendChoice> {
  const preference = options.backend ?? 'auto';
  if (preference !== 'auto' && !BROWSER_BACKENDS.includes(preference)) {
    throw new TypeError(`backend must be "auto" or one of ${BROWSER_BACKENDS.join(', ')}; got ${JSON.stringify(preference)}.`);
  }
  if (options.wasmPaths && options.wasmPaths !== configuredWasmPaths) {
    setWasmPaths(options.wasmPaths);
    configuredWasmPaths = options.wasmPaths;
  }
  if (preference !== 'auto') {
    const probe = preference === 'webgpu' ? await cachedWebGpuProbe() : preference === 'webgl' ? cachedWebGlProbe() : undefined;
    if (probe && !probe.available) throw new Error(`The ${preference} backend is not available: ${probe.description}. Try backend="auto".`);
    await activate(preference, probe);
    return { backend: preference, reason: 'requested', gpu: probe?.description, software: probe?.software ?? false, ...wasmThreads(preference) };
  }
  const skipped: string[] = [];
  for (const [name, probe] of [['webgpu', await cachedWebGpuProbe()], ['webgl', cachedWebGlProbe()]] as const) {
    if (probe.available && !probe.software) {
      try {
        await activate(name, probe);
        return { backend: name, reason: `auto: ${probe.description}`, gpu: probe.description, software: false };
      } catch (error) {
        skipped.push(`${name} failed to start (${(error as Error).message})`);
        continue;
      }
    }
    skipped.push(probe.available ? `${name} is software (${probe.description})` : `no ${name} (${probe.description})`);
  }
  try {
    await activate('wasm');
    return { backend: 'wasm', reason: `auto: ${skipped.join('; ')}; wasm is faster`, software: false, ...wasmThreads('wasm') };
  } catch (error) {
    skipped.push(`wasm failed to start (${(error as Error).message}; is wasmPaths right?)`);
  }
  await activate('cpu');
  return { backend: 'cpu', reason: `auto: ${skipped.join('; ')}`, software: false };
}

async function activate(name: BackendName, probe?: GpuProbe): Promise<void> {
  if (name === 'webgpu' && probe?.software) {
    // SwiftShader cannot import <video> frames as external textures.
    tf.env().set('WEBGPU_IMPORT_EXTERNAL_TEXTURE', false);
  }
  let ok: boolean;
  try {
    ok = name === 'wasm' ? await withWasmOnEveryCore(() => tf.setBackend(name)) : await tf.setBackend(name);
  } catch (error) {
    throw new Error(`tfjs could not start the ${name} backend: ${(error as Error).message}`, { cause: error });
  }
  if (!ok) throw new Error(`tfjs could not start the ${name} backend.`);
  await tf.ready();
}

/**
 * Whether the network, on the tfjs backend running now, keeps every core of the machine busy:
 * wasm with a thread per core (see `withWasmOnEveryCore`). Other work on the CPU meanwhile (a
 * software GPU's rasteriser, say) then only takes turns with it.
 */
export function networkUsesEveryCore(): boolean {
  const cores = globalThis.navigator?.hardwareConcurrency;
  return tf.getBackend() === 'wasm' && Boolean(cores) && getThreadsCount() >= cores;
}

function wasmThreads(name: BackendName): { threads?: number } {
  return name === 'wasm' ? { threads: Math.max(1, getThreadsCount()) } : {};
}

/**
 * Starts wasm with a thread per logical core (tfjs's pool holds at most 8) where the page can run
 * threads (cross-origin isolated: COOP + COEP headers). tfjs's C++ side caps its pool at half of
 * navigator.hardwareConcurrency, read once while the module initialises (it assumes two
 * hyper-threads per core), which leaves a 2-core machine one thread; convolutions, most of a frame,
 * run 1.5-1.8x faster on two. So the page's navigator reports twice the cores for that moment.
 */
async function withWasmOnEveryCore<T>(start: () => Promise<T>): Promise<T> {
  const cores = globalThis.navigator?.hardwareConcurrency;
  if (!globalThis.crossOriginIsolated || !cores || tf.engine().registry.wasm) return start();
  setThreadsCount(cores);
  Object.defineProperty(navigator, 'hardwareConcurrency', { value: 2 * cores, configurable: true });
  try {
    return await start();
  } finally {
    delete (navigator as { hardwareConcurrency?: number }).hardwareConcurrency;
  }
}

/** The probes, once per page: each asks the browser for an adapter or a context. */
function cachedWebGpuProbe(): Promise<GpuProbe> {
  webGpuProbe ??= probeWebGpu((globalThis.navigator as Navigator | undefined)?.gpu);
  return webGpuProbe;
}

function cachedWebGlProbe(): GpuProbe {
  webGlProbe ??= probeWebGl();
  return webGlProbe;
}
