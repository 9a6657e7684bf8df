/**
 * Inference time per frame in headless Chromium on each browser backend (webgpu, webgl, wasm,
 * cpu): full and slim at 64, 256 and 512 px, median after a warm-up, with peak tensor memory.
 * On this machine WebGPU and WebGL are software (SwiftShader): configurations estimated above
 * MAX_FRAME_MS per frame are skipped with the estimate.
 */
import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import * as esbuild from 'esbuild';
import puppeteer from 'puppeteer-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../test/support/chromium.mjs';
import { emit, transformerMacs } from './bench-support.js';
import type { InferenceBenchRequest } from './pages/inference-page.js';

const ORIGIN = 'http://localhost:8123';
const MAX_FRAME_MS = 30_000;
const BACKENDS = (process.env.NST_BENCH_BACKENDS?.split(',') ?? ['webgpu', 'webgl', 'wasm', 'cpu']) as InferenceBenchRequest['backend'][];
const SIZES = [64, 256, 512];
const ARCH = { slim: { channels: [16, 32, 64], residualBlocks: 3 }, full: { channels: [32, 64, 128], residualBlocks: 5 } } as const;

const bundle = await esbuild.build({ entryPoints: ['bench/pages/inference-page.ts'], bundle: true, format: 'esm', target: 'es2022', write: false, logLevel: 'silent' });
const wasmDir = 'node_modules/@tensorflow/tfjs-backend-wasm/dist';
const browser = await puppeteer.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS, protocolTimeout: 15 * 60_000 });
try {
  const page = await browser.newPage();
  // Serve the page from memory: no server, and localhost keeps it a secure context (WebGPU).
  await page.setRequestInterception(true);
  // Cross-origin isolation (COOP + COEP) gives the page SharedArrayBuffer, so tfjs loads its
  // multi-threaded wasm build (the demo server does the same). tfjs sizes the thread pool at half
  // the logical cores, so on a 2-core machine it still runs one thread; wasm_threads says how
  // many ran. NST_BENCH_ISOLATED=0 measures without isolation.
  const isolation = process.env.NST_BENCH_ISOLATED === '0' ? {} : { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };
  page.on('request', async (request) => {
    const path = new URL(request.url()).pathname;
    if (path === '/') return request.respond({ contentType: 'text/html', headers: isolation, body: '<!doctype html><script type="module" src="/bench.js"></script>' });
    if (path === '/bench.js') return request.respond({ contentType: 'text/javascript', headers: isolation, body: bundle.outputFiles[0].text });
    if (path.startsWith('/wasm/') && extname(path) === '.wasm') {
      return request.respond({ contentType: 'application/wasm', headers: isolation, body: await readFile(join(wasmDir, path.slice(6))) });
    }
    return request.respond({ status: 404, body: 'not found' });
  });
  await page.goto(`${ORIGIN}/`);
  await page.waitForFunction(() => 'runInferenceBench' in globalThis);
  for (const backend of BACKENDS) {
    let msPerMac = 0;
    for (const arch of ['slim', 'full'] as const) {
      for (const size of SIZES) {
        const macs = transformerMacs(ARCH[arch].channels, ARCH[arch].residualBlocks, size, size);
        if (msPerMac * macs > MAX_FRAME_MS) {
          emit({ bench: 'inference-browser', backend, arch, size, skipped: `estimated ${((msPerMac * macs) / 1000).toFixed(0)} s per frame` });
          continue;
        }
        try {
          const request: InferenceBenchRequest = { backend, arch, size, runs: 5, budgetMs: 15_000 };
          const row = (await page.evaluate((r) => (globalThis as any).runInferenceBench(r), request)) as Record<string, unknown>;
          msPerMac = Math.max(msPerMac, (row.ms_median as number) / macs);
          emit({ bench: 'inference-browser', ...row });
        } catch (error) {
          emit({ bench: 'inference-browser', backend, arch, size, error: (error as Error).message.split('\n')[0] });
          break;
        }
      }
    }
  }
} finally {
  await browser.close();
}
