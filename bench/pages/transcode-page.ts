/**
 * Runs in headless Chromium (driven by bench/transcode-browser.bench.ts): times transcodeVideo()
 * on a clip, and the network alone on the same backend at the size it runs at in that transcode,
 * with peak memory during the transcode.
 */
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend, type BackendName } from '../../plugin/src/backend/select-backend.js';
import { BrowserStyleModel } from '../../plugin/src/load-style-model.js';
import { transcodeVideo } from '../../plugin/src/media/transcode-video.js';
import { ARCHITECTURE_PRESETS, SPATIAL_MULTIPLE, initialTransformerWeights, outputSize, type DecodedStyleModel } from '../../plugin/src/model/index.js';
import { median, timeRuns } from '../bench-support.js';

export interface TranscodeBenchRequest {
  backend: BackendName;
  arch: 'full' | 'slim';
  /** Inference size (short side, px). */
  size: number;
  /** Served by the bench script. */
  clipUrl: string;
  /** The clip's frame size. */
  width: number;
  height: number;
}

const MIB = 2 ** 20;

/** usedJSHeapSize (exact with --enable-precise-memory-info, which the bench script passes). */
function jsHeapBytes(): number {
  return (performance as Performance & { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? NaN;
}

/** The wasm backend's linear memory, where the network's tensors live: it only grows, so its size is the peak. */
function wasmHeapBytes(): number | undefined {
  return (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm?.HEAPU8?.length;
}

async function runTranscodeBench(request: TranscodeBenchRequest): Promise<Record<string, unknown>> {
  const choice = await selectBackend({ backend: request.backend, wasmPaths: '/wasm/' });
  const architecture = ARCHITECTURE_PRESETS[request.arch];
  const decoded = { architecture, weights: initialTransformerWeights(architecture, 1), metadata: { style: { name: 'bench' } } } as unknown as DecodedStyleModel;
  const model = new BrowserStyleModel(decoded, choice);
  try {
    // The network alone, on the tensor it sees in the transcode (the frame scaled to `size`,
    // padded to SPATIAL_MULTIPLE), read back; timed before and after the transcode, so that a
    // change in the machine's load during the run shows as two different figures.
    const target = outputSize(request.width, request.height, request.size);
    const roundUp = (n: number) => Math.ceil(n / SPATIAL_MULTIPLE) * SPATIAL_MULTIPLE;
    const input = tf.randomUniform([1, roundUp(target.height), roundUp(target.width), 3], 0, 255) as tf.Tensor4D;
    const timeNetwork = async () =>
      median(await timeRuns(async () => {
        const out = model.predict(input);
        await out.data();
        out.dispose();
      }, { warmup: 2, runs: 15, budgetMs: 15_000 }));
    const networkMsBefore = await timeNetwork();

    const clip = await (await fetch(request.clipUrl)).blob();
    let peakHeap = jsHeapBytes();
    let peakTensors = tf.memory().numBytes;
    let fps = 0;
    let frames = 0;
    const started = performance.now();
    await transcodeVideo(clip, {
      model, inferenceSize: request.size,
      onProgress: (progress) => {
        ({ fps, frames } = progress);
        peakHeap = Math.max(peakHeap, jsHeapBytes());
        peakTensors = Math.max(peakTensors, tf.memory().numBytes);
      },
    });
    const wallSeconds = (performance.now() - started) / 1000;
    const networkMsAfter = await timeNetwork();
    input.dispose();
    const networkMs = (networkMsBefore + networkMsAfter) / 2;
    const transcodeMs = 1000 / fps;
    return {
      backend: choice.backend, ...(choice.backend === 'wasm' && { wasm_threads: choice.threads }), arch: request.arch, size: request.size,
      network_input: `${roundUp(target.width)}x${roundUp(target.height)}`, clip: `${request.width}x${request.height}`, frames,
      // fps after the first frame (onProgress's figure: the first carries the set-up); wall_fps counts it.
      transcode_fps: fps, wall_fps: frames / wallSeconds, network_fps: 1000 / networkMs,
      transcode_ms: transcodeMs, network_ms: networkMs, network_ms_before: networkMsBefore, network_ms_after: networkMsAfter, overhead: transcodeMs / networkMs - 1,
      // Peaks seen between frames (onProgress): the model's weights and what the chain keeps, not a frame's intermediates (the wasm heap holds those).
      peak_js_heap_mb: peakHeap / MIB, peak_tensor_mb_between_frames: peakTensors / MIB, wasm_heap_mb: (wasmHeapBytes() ?? NaN) / MIB,
    };
  } finally {
    model.dispose();
  }
}

Object.assign(globalThis, { runTranscodeBench });
