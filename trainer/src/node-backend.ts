/**
 * Picks the tfjs backend for Node: WebGPU through dawn.node when there is a hardware GPU, else
 * wasm (SIMD), with cpu as a last resort. A software WebGPU adapter (lavapipe, SwiftShader) is
 * 6-10x slower than wasm, so `auto` skips it; asking for `webgpu` still uses it.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { availableCores, useWasmThreads, wasmThreadsInUse } from './wasm-threads.js';

// PROD silences tfjs's "install tfjs-node" banner (tfjs-node cannot install here: it downloads
// libtensorflow) and skips debug-only checks.
tf.env().set('PROD', true);

export const NODE_BACKENDS = ['webgpu', 'wasm', 'cpu'] as const;
export type NodeBackendName = (typeof NODE_BACKENDS)[number];
export type NodeBackendPreference = NodeBackendName | 'auto';

export interface BackendChoice {
  backend: NodeBackendName;
  /** Why this backend, in words, e.g. "auto: WebGPU adapter is software (llvmpipe); wasm is faster". */
  reason: string;
  /** The GPU adapter's description, when WebGPU was considered. */
  adapter?: string;
  /** CPU threads the wasm backend runs its convolutions on (absent for other backends). */
  threads?: number;
}

export interface NodeBackendOptions {
  /** Threads for the wasm backend; default: every core (see wasm-threads.ts). */
  threads?: number;
}

/** Sets the tfjs backend and reports the choice. Throws an error that says what to do. */
export async function selectNodeBackend(preference: NodeBackendPreference = 'auto', options: NodeBackendOptions = {}): Promise<BackendChoice> {
  if (preference !== 'auto' && !NODE_BACKENDS.includes(preference)) {
    throw new TypeError(`--backend must be one of auto, ${NODE_BACKENDS.join(', ')}; got "${preference}".`);
  }
  if (preference === 'webgpu' || preference === 'auto') {
    const probe = await probeWebGpu();
    if (probe.adapter && (preference === 'webgpu' || !probe.software)) {
      await activate('webgpu');
      return { backend: 'webgpu', reason: preference === 'auto' ? 'auto: hardware WebGPU adapter' : 'requested', adapter: probe.description };
    }
    if (preference === 'webgpu') {
      throw new Error(`WebGPU is not available: ${probe.description}. Use --backend wasm, or install a Vulkan driver for your GPU.`);
    }
    const reason = probe.adapter ? `auto: WebGPU adapter is software (${probe.description}), wasm is faster` : `auto: no WebGPU (${probe.description})`;
    return { backend: 'wasm', reason, adapter: probe.description, ...(await activateWasm(options)) };
  }
  if (preference === 'wasm') return { backend: 'wasm', reason: 'requested', ...(await activateWasm(options)) };
  await activate(preference);
  return { backend: preference, reason: 'requested' };
}

async function activateWasm(options: NodeBackendOptions): Promise<{ threads: number }> {
  useWasmThreads(options.threads ?? availableCores());
  await activate('wasm');
  return { threads: wasmThreadsInUse() };
}

async function activate(name: NodeBackendName): Promise<void> {
  if (!(await tf.setBackend(name))) {
    throw new Error(`tfjs backend "${name}" failed to initialise; try another --backend.`);
  }
  await tf.ready();
}

interface WebGpuProbe {
  adapter: GPUAdapter | null;
  software: boolean;
  description: string;
}

let webGpuProbe: Promise<WebGpuProbe> | undefined;

/**
 * Creates navigator.gpu from dawn.node once, then registers tfjs's webgpu backend against it.
 * Without any usable Vulkan driver it tries the software one `npm run setup:vulkan` unpacks into
 * the project (lavapipe): slow, but the same WebGPU code path a GPU runs, for tests.
 */
function probeWebGpu(): Promise<WebGpuProbe> {
  webGpuProbe ??= (async () => {
    let dawn: { create(flags: string[]): GPU; globals: object };
    try {
      dawn = (await import('webgpu')) as typeof dawn;
    } catch (error) {
      return { adapter: null, software: false, description: `dawn.node did not load (${(error as Error).message})` };
    }
    let gpu = dawn.create([]);
    let adapter = await requestAdapter(gpu);
    const lavapipe = projectSoftwareVulkan();
    if (!adapter && lavapipe && !process.env.VK_DRIVER_FILES) {
      // The Vulkan loader reads this when the next instance is created.
      process.env.VK_DRIVER_FILES = lavapipe;
      gpu = dawn.create([]);
      adapter = await requestAdapter(gpu);
    }
    Object.assign(globalThis, dawn.globals);
    const nav = ((globalThis as { navigator?: object }).navigator ??= {}) as { gpu?: GPU };
    Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
    if (!adapter) {
      const hint = lavapipe ? '' : '; "npm run setup:vulkan" installs a software one into the project, for tests';
      return { adapter: null, software: false, description: `no WebGPU adapter (no usable Vulkan driver${hint})` };
    }
    const info = adapter.info;
    const description = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'unknown adapter';
    const software = Boolean((info as { isFallbackAdapter?: boolean }).isFallbackAdapter) || /llvmpipe|lavapipe|swiftshader|software/i.test(description);
    // The backend registers itself only if navigator.gpu exists when it is first imported.
    await import('@tensorflow/tfjs-backend-webgpu');
    return { adapter, software, description };
  })();
  return webGpuProbe;
}

function requestAdapter(gpu: GPU): Promise<GPUAdapter | null> {
  return gpu.requestAdapter({ powerPreference: 'high-performance' }).catch(() => null);
}

/** The lavapipe driver manifest that trainer/scripts/setup-vulkan.sh writes, if it is there. */
function projectSoftwareVulkan(): string | undefined {
  const directory = process.env.NST_VULKAN_DIR ?? fileURLToPath(new URL('../../.cache/vulkan', import.meta.url));
  const manifest = join(directory, 'lvp_icd.json');
  return existsSync(manifest) ? manifest : undefined;
}
