/**
 * <nst-video> throughput in headless Chromium: frames per second at 320x240 and 640x480 on each
 * tfjs backend, and the plain per-frame loop (fromPixels -> predict -> toPixels to a canvas) with
 * the same slim model in the same page, as a ratio. Twice: with the network at the source's
 * resolution, and at a 64 px short side (the element upsamples to the source resolution; the plain
 * loop shows the 64 px picture), which lets the software GPU backends here run at all. Software WebGPU/WebGL (SwiftShader here) are skipped where a frame would take longer than
 * MAX_FRAME_MS. NST_BENCH_BACKENDS=wasm,webgl picks backends; NST_BENCH_SECONDS the timing window.
 */
import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import * as esbuild from 'esbuild';
import puppeteer from 'puppeteer-core';
import { ARCHITECTURE_PRESETS, encodeRandomStyleModel } from '../plugin/src/model/index.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../test/support/chromium.mjs';
import { emit } from './bench-support.js';
import type { ElementBenchRequest } from './pages/element-page.js';

const ORIGIN = 'http://localhost:8124';
const MAX_FRAME_MS = 8_000;
const SECONDS = Number(process.env.NST_BENCH_SECONDS ?? 5);
const BACKENDS = (process.env.NST_BENCH_BACKENDS?.split(',') ?? ['webgpu', 'webgl', 'wasm', 'cpu']) as ElementBenchRequest['backend'][];
const RESOLUTIONS = [
  [320, 240],
  [640, 480],
] as const;

const architecture = ARCHITECTURE_PRESETS.slim;
const encoded = await encodeRandomStyleModel({ architecture, seed: 1, storage: 'float32', style: { name: 'bench-slim' }, generatedBy: 'nst-video element bench' });
const files = new Map<string, { type: string; body: string | Buffer }>([['/model/model.json', { type: 'application/json', body: JSON.stringify(encoded.modelJson) }]]);
for (const shard of encoded.shards) files.set(`/model/${shard.path}`, { type: 'application/octet-stream', body: Buffer.from(shard.bytes) });

const bundle = await esbuild.build({ entryPoints: ['bench/pages/element-page.ts'], bundle: true, format: 'esm', target: 'es2022', write: false, logLevel: 'silent' });
files.set('/bench.js', { type: 'text/javascript', body: bundle.outputFiles[0].text });
files.set('/', { type: 'text/html', body: '<!doctype html><body><script type="module" src="/bench.js"></script></body>' });
const wasmDir = 'node_modules/@tensorflow/tfjs-backend-wasm/dist';

const browser = await puppeteer.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS, protocolTimeout: 15 * 60_000 });
try {
  for (const backend of BACKENDS) {
    // A fresh page per backend: tfjs backends and GL contexts do not pile up.
    const page = await browser.newPage();
    await page.setRequestInterception(true);
    page.on('request', async (request) => {
      const path = new URL(request.url()).pathname;
      const file = files.get(path);
      if (file) return request.respond({ contentType: file.type, body: file.body });
      if (path.startsWith('/wasm/') && extname(path) === '.wasm') return request.respond({ contentType: 'application/wasm', body: await readFile(join(wasmDir, path.slice(6))) });
      return request.respond({ status: 404, body: 'not found' });
    });
    await page.goto(`${ORIGIN}/`);
    await page.waitForFunction(() => 'runElementBench' in globalThis);
    for (const inferenceSize of [undefined, 64]) {
      for (const [width, height] of RESOLUTIONS) {
        const request: ElementBenchRequest = { backend, width, height, inferenceSize, seconds: SECONDS, maxFrameMs: MAX_FRAME_MS, modelUrl: '/model/model.json', wasmPaths: '/wasm/' };
        try {
          const row = (await page.evaluate((r) => (globalThis as any).runElementBench(r), request)) as Record<string, unknown>;
          emit({ bench: 'element', arch: 'slim', ...row });
          if (row.skipped) break;
        } catch (error) {
          emit({ bench: 'element', arch: 'slim', backend, width, height, inference_short_side: inferenceSize, error: (error as Error).message.split('\n')[0] });
          break;
        }
      }
    }
    await page.close();
  }
} finally {
  await browser.close();
}
