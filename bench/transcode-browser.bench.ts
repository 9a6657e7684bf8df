/**
 * Offline transcoding throughput in headless Chromium: transcodeVideo() on a 640x360 H.264 clip at
 * inference sizes 128 and 256, next to the network alone on the same backend at the same input in
 * the same run (the goal: transcoding costs at most 10% over the network), with peak
 * memory. wasm only by default: the fastest backend here (WebGPU and WebGL are software).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import * as esbuild from 'esbuild';
import puppeteer from 'puppeteer-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../test/support/chromium.mjs';
import { emit } from './bench-support.js';
import type { TranscodeBenchRequest } from './pages/transcode-page.js';

const ORIGIN = 'http://localhost:8123';
const BACKENDS = (process.env.NST_BENCH_BACKENDS?.split(',') ?? ['wasm']) as TranscodeBenchRequest['backend'][];
const SIZES = [128, 256];
const [WIDTH, HEIGHT, FRAMES] = [640, 360, 90];

const scratch = mkdtempSync(join(tmpdir(), 'nst-transcode-bench-'));
const clipPath = join(scratch, 'clip.mp4');
execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=${WIDTH}x${HEIGHT}:rate=30`, '-frames:v', String(FRAMES), '-c:v', 'libx264', '-pix_fmt', 'yuv420p', clipPath]);
const bundle = await esbuild.build({ entryPoints: ['bench/pages/transcode-page.ts'], bundle: true, format: 'esm', target: 'es2022', write: false, logLevel: 'silent' });
const wasmDir = 'node_modules/@tensorflow/tfjs-backend-wasm/dist';
// Exact performance.memory figures for the peak heap (without the flag they are rounded and cached).
const browser = await puppeteer.launch({ executablePath: CHROMIUM_PATH, headless: true, args: [...CHROMIUM_ARGS, '--enable-precise-memory-info'], protocolTimeout: 15 * 60_000 });
try {
  const page = await browser.newPage();
  // Served from memory and cross-origin isolated, as in browser-inference.bench.ts (multi-threaded wasm where there are cores).
  const isolation = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };
  await page.setRequestInterception(true);
  page.on('request', async (request) => {
    const path = new URL(request.url()).pathname;
    if (path === '/') return request.respond({ contentType: 'text/html', headers: isolation, body: '<!doctype html><script type="module" src="/bench.js"></script>' });
    if (path === '/bench.js') return request.respond({ contentType: 'text/javascript', headers: isolation, body: bundle.outputFiles[0].text });
    if (path === '/clip.mp4') return request.respond({ contentType: 'video/mp4', headers: isolation, body: await readFile(clipPath) });
    if (path.startsWith('/wasm/') && extname(path) === '.wasm') {
      return request.respond({ contentType: 'application/wasm', headers: isolation, body: await readFile(join(wasmDir, path.slice(6))) });
    }
    return request.respond({ status: 404, body: 'not found' });
  });
  await page.goto(`${ORIGIN}/`);
  await page.waitForFunction(() => 'runTranscodeBench' in globalThis);
  for (const backend of BACKENDS) {
    for (const size of SIZES) {
      const request: TranscodeBenchRequest = { backend, arch: 'slim', size, clipUrl: '/clip.mp4', width: WIDTH, height: HEIGHT };
      try {
        emit({ bench: 'transcode-browser', ...((await page.evaluate((r) => (globalThis as any).runTranscodeBench(r), request)) as Record<string, unknown>) });
      } catch (error) {
        emit({ bench: 'transcode-browser', backend, size, error: (error as Error).message.split('\n')[0] });
      }
    }
  }
} finally {
  await browser.close();
  rmSync(scratch, { recursive: true, force: true });
}
