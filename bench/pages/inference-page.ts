/**
 * Runs in headless Chromium (driven by bench/browser-inference.bench.ts): times the network on
 * one tfjs backend, the way the plugin runs it (predict, then read the frame back).
 */
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend, type BackendName } from '../../plugin/src/backend/select-backend.js';
import { ARCHITECTURE_PRESETS, StyleModel, initialTransformerWeights, transformerWeightSpecs, type DecodedStyleModel } from '../../plugin/src/model/index.js';
import { median, timeRuns, transformerMacs } from '../bench-support.js';

export interface InferenceBenchRequest {
  backend: BackendName;
  arch: 'full' | 'slim';
  size: number;
  runs: number;
  budgetMs: number;
}

function buildModel(preset: 'full' | 'slim'): StyleModel {
  const architecture = ARCHITECTURE_PRESETS[preset];
  const decoded = { architecture, weights: initialTransformerWeights(architecture, 1), metadata: { style: { name: 'bench' } } } as unknown as DecodedStyleModel;
  if (decoded.weights.size !== transformerWeightSpecs(architecture).length) throw new Error('bench model is incomplete');
  return new StyleModel(decoded);
}

async function runInferenceBench(request: InferenceBenchRequest): Promise<Record<string, unknown>> {
  const choice = await selectBackend({ backend: request.backend, wasmPaths: '/wasm/' });
  const model = buildModel(request.arch);
  const { channels, residualBlocks } = ARCHITECTURE_PRESETS[request.arch];
  const input = tf.randomUniform([1, request.size, request.size, 3], 0, 255) as tf.Tensor4D;
  const run = async () => {
    const out = model.predict(input);
    await out.data();
    out.dispose();
  };
  const times = await timeRuns(run, { warmup: 1, runs: request.runs, budgetMs: request.budgetMs });
  const profile = await tf.profile(run);
  input.dispose();
  model.dispose();
  const ms = median(times);
  const macs = transformerMacs(channels, residualBlocks, request.size, request.size);
  return {
    backend: choice.backend, gpu: choice.gpu, ...(choice.backend === 'wasm' && { wasm_threads: choice.threads, cross_origin_isolated: globalThis.crossOriginIsolated }), software: choice.software, arch: request.arch, size: request.size, runs: times.length,
    ms_median: ms, ms_min: Math.min(...times), fps: 1000 / ms, gmac_per_s: macs / 1e6 / ms,
    peak_tensor_mb: profile.peakBytes / 2 ** 20,
  };
}

Object.assign(globalThis, { runInferenceBench });
