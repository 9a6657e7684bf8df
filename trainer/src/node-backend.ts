/**
 * Picks the tfjs backend for Node: WebGPU through dawn.node when there is a hardware GPU, else
 * wasm (SIMD), with cpu as a last resort. A software WebGPU adapter (lavapipe, SwiftShader) is
 * 6-10x slower than wasm, so `auto` skips it; asking for `webgpu` still uses it. Dawn is asked
 * for an adapter in a child process and created in this one only when WebGPU will be used, so its
 * Vulkan probing stays off stderr when the answer is wasm.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { isSoftwareGpu } from 'nst-video/model';
import { registerWasmKernels } from './kernels/wasm-kernels.js';
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
  /** What runs wasm's convolutions, in words: oneDNN (the nst-native addon) or XNNPACK and why (absent for other backends). */
  convolutions?: string;
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
    if (probe.available && (preference === 'webgpu' || !probe.software)) {
      await startWebGpu(probe);
      await activate('webgpu');
      return { backend: 'webgpu', reason: preference === 'auto' ? 'auto: hardware WebGPU adapter' : 'requested', adapter: probe.description };
    }
    if (preference === 'webgpu') {
      const log = probe.nativeLog ? `\nDawn and the Vulkan loader said:\n${probe.nativeLog}` : '';
      throw new Error(`WebGPU is not available: ${probe.description}. Use --backend wasm, or install a Vulkan driver for your GPU.${log}`);
    }
    const reason = probe.available ? `auto: WebGPU adapter is software (${probe.description}), wasm is faster` : `auto: no WebGPU (${probe.description})`;
    return { backend: 'wasm', reason, adapter: probe.description, ...(await activateWasm(options)) };
  }
  if (preference === 'wasm') return { backend: 'wasm', reason: 'requested', ...(await activateWasm(options)) };
  await activate(preference);
  return { backend: preference, reason: 'requested' };
}

async function activateWasm(options: NodeBackendOptions): Promise<{ threads: number; convolutions: string }> {
  useWasmThreads(options.threads ?? availableCores());
  await activate('wasm');
  const threads = wasmThreadsInUse();
  return { threads, convolutions: registerWasmKernels(threads) };
}

async function activate(name: NodeBackendName): Promise<void> {
  if (!(await tf.setBackend(name))) {
    throw new Error(`tfjs backend "${name}" failed to initialise; try another --backend.`);
  }
  await tf.ready();
}

interface WebGpuProbe {
  available: boolean;
  software: boolean;
  description: string;
  /** The Vulkan driver manifest dawn needs in this process too (the project's lavapipe), if the probe needed it. */
  driverFiles?: string;
  /** What Dawn and the Vulkan loader wrote to stderr while probing; shown only when WebGPU was asked for and is not there. */
  nativeLog: string;
}

const PROBE_SCRIPT = fileURLToPath(new URL('./webgpu-probe-child.mjs', import.meta.url));
const PROBE_TIMEOUT_MS = 60_000;

let webGpuProbe: Promise<WebGpuProbe> | undefined;
let webGpuStart: Promise<void> | undefined;

/**
 * Asks dawn.node for an adapter in a child process, once per process, so that its Vulkan probing
 * ("vkCreateInstance: Found no drivers!") does not reach the user's stderr when the answer is wasm.
 * Without any usable Vulkan driver the child tries the software one `npm run setup:vulkan` unpacks
 * into the project (lavapipe): slow, but the same WebGPU code path a GPU runs, for tests.
 */
function probeWebGpu(): Promise<WebGpuProbe> {
  webGpuProbe ??= (async () => {
    const lavapipe = projectSoftwareVulkan();
    const { stdout, stderr, failure } = await runNode(PROBE_SCRIPT, lavapipe ? [lavapipe] : []);
    const nativeLog = stderr.trim();
    let answer: { description?: string; fallbackAdapter?: boolean; driverFiles?: string; error?: string };
    try {
      answer = JSON.parse(stdout);
    } catch {
      return { available: false, software: false, description: `the WebGPU probe (${PROBE_SCRIPT}) gave no answer${failure ? `: ${failure}` : ''}`, nativeLog };
    }
    if (answer.error || !answer.description) {
      const hint = lavapipe ? '' : '; "npm run setup:vulkan" installs a software one into the project, for tests';
      return { available: false, software: false, description: `${answer.error ?? 'no WebGPU adapter'}${hint}`, nativeLog };
    }
    const software = Boolean(answer.fallbackAdapter) || isSoftwareGpu(answer.description);
    return { available: true, software, description: answer.description, driverFiles: answer.driverFiles, nativeLog };
  })();
  return webGpuProbe;
}

/** `node script ...args`: its stdout and stderr, and why it failed if it did (exit code, signal, timeout). */
async function runNode(script: string, args: string[]): Promise<{ stdout: string; stderr: string; failure?: string }> {
  try {
    return await promisify(execFile)(process.execPath, [script, ...args], { encoding: 'utf8', timeout: PROBE_TIMEOUT_MS });
  } catch (error) {
    const { stdout = '', stderr = '', message } = error as { stdout?: string; stderr?: string; message: string };
    return { stdout, stderr, failure: message };
  }
}

/**
 * Creates navigator.gpu from dawn.node in this process, once, then registers tfjs's webgpu
 * backend against it: only when WebGPU will be used, since Dawn's own messages go to stderr.
 */
function startWebGpu(probe: WebGpuProbe): Promise<void> {
  webGpuStart ??= (async () => {
    // The Vulkan loader reads this when dawn creates its instance.
    if (probe.driverFiles) process.env.VK_DRIVER_FILES = probe.driverFiles;
    const dawn = (await import('webgpu')) as { create(flags: string[]): GPU; globals: object };
    Object.assign(globalThis, dawn.globals);
    const nav = ((globalThis as { navigator?: object }).navigator ??= {}) as { gpu?: GPU };
    Object.defineProperty(nav, 'gpu', { value: dawn.create([]), configurable: true });
    // The backend registers itself only if navigator.gpu exists when it is first imported.
    await import('@tensorflow/tfjs-backend-webgpu');
  })();
  return webGpuStart;
}

/** The lavapipe driver manifest that trainer/scripts/setup-vulkan.sh writes, if it is there. */
function projectSoftwareVulkan(): string | undefined {
  const directory = process.env.NST_VULKAN_DIR ?? fileURLToPath(new URL('../../.cache/vulkan', import.meta.url));
  const manifest = join(directory, 'lvp_icd.json');
  return existsSync(manifest) ? manifest : undefined;
}
