#!/usr/bin/env node
// `npm start`: bundles demo/src/*.ts with esbuild (rebuilding on change) and serves the demo at
// http://localhost:8000/ (PORT overrides). The pages import the nst-video package by name, as an
// app does (tsconfig.json's paths lead to its sources); its default style goes beside their
// bundles, in demo/build/models/default/, where <nst-video> without a model looks for it. Also
// serves the tfjs wasm binaries under /wasm/ and a list of the style models under demo/models/ at
// /models/index.json. Answers HTTP Range requests, which mediabunny's UrlSource needs.
import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { DEFAULT_STYLE_DIR, copyDefaultStyle } from '../plugin/scripts/default-style.mjs';

const demoDir = resolve(fileURLToPath(new URL('.', import.meta.url)));
const rootDir = resolve(demoDir, '..');
const buildDir = join(demoDir, 'build');
const modelsDir = join(demoDir, 'models');
const wasmDir = join(rootDir, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
const port = Number(process.env.PORT ?? 8000);

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8', '.bin': 'application/octet-stream', '.wasm': 'application/wasm',
  '.map': 'application/json', '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.webp': 'image/webp',
  '.svg': 'image/svg+xml', '.mp4': 'video/mp4', '.webm': 'video/webm', '.ico': 'image/x-icon',
};

/**
 * Cross-origin isolation gives pages SharedArrayBuffer, which tfjs needs to run its wasm backend
 * on several threads (it uses half the logical cores). The demo loads nothing cross-origin.
 */
const CROSS_ORIGIN_ISOLATION = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };

/** Every folder under demo/models holding a model.json, with the style name it records; `isDefault` marks the package's default style. */
export function listDemoModels() {
  if (!existsSync(modelsDir)) return [];
  return readdirSync(modelsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(modelsDir, entry.name, 'model.json')))
    .map((entry) => {
      const json = JSON.parse(readFileSync(join(modelsDir, entry.name, 'model.json'), 'utf8'));
      const nst = json.userDefinedMetadata?.nst ?? {};
      const isDefault = resolve(modelsDir, entry.name) === resolve(DEFAULT_STYLE_DIR);
      return { id: entry.name, url: `/models/${entry.name}/model.json`, style: nst.style?.name ?? entry.name, architecture: nst.architectureName, training: nst.training?.kind, isDefault };
    })
    .sort((a, b) => (a.training === 'random-init') - (b.training === 'random-init') || a.id.localeCompare(b.id));
}

/**
 * With no style model installed, writes an untrained (random-weights) one so the pages still
 * work end to end; it is git-ignored and listed last, marked untrained.
 */
function ensureSomeModel() {
  if (listDemoModels().length > 0) return;
  const out = join(modelsDir, 'untrained-slim');
  const result = spawnSync(process.execPath, [join(rootDir, 'trainer/bin/nst.mjs'), 'init', '--arch', 'slim', '--out', out, '--style-name', 'untrained (random weights)'], { encoding: 'utf8' });
  if (result.status !== 0) console.warn(`Could not write a fallback model: ${result.stderr}`);
}

export async function startDemoServer({ port: listenPort = port, watch = true } = {}) {
  ensureSomeModel();
  const entryPoints = existsSync(join(demoDir, 'src')) ? readdirSync(join(demoDir, 'src')).filter((f) => f.endsWith('.ts')).map((f) => join(demoDir, 'src', f)) : [];
  const context = await esbuild.context({
    entryPoints, bundle: true, format: 'esm', target: 'es2022', outdir: buildDir, sourcemap: true, logLevel: 'warning',
  });
  await context.rebuild();
  if (watch) await context.watch();
  copyDefaultStyle(join(buildDir, 'models/default'));

  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
    if (path === '/models/index.json') {
      response.writeHead(200, { 'content-type': TYPES['.json'], 'cache-control': 'no-store', ...CROSS_ORIGIN_ISOLATION });
      response.end(JSON.stringify(listDemoModels()));
      return;
    }
    const file = path.startsWith('/wasm/') ? safeJoin(wasmDir, path.slice('/wasm/'.length)) : safeJoin(demoDir, path.endsWith('/') ? `${path}index.html` : path);
    if (!file || !existsSync(file) || !statSync(file).isFile()) {
      response.writeHead(404, { 'content-type': 'text/plain' });
      response.end(`Not found: ${path}\n`);
      return;
    }
    sendFile(request, response, file);
  });
  await new Promise((resolveListen, reject) => server.once('error', reject).listen(listenPort, resolveListen));
  return { server, url: `http://localhost:${server.address().port}/`, close: async () => { server.close(); await context.dispose(); } };
}

function safeJoin(base, relative) {
  const full = normalize(join(base, relative));
  return full === base || full.startsWith(base + sep) ? full : null;
}

function sendFile(request, response, file) {
  const size = statSync(file).size;
  const headers = { 'content-type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream', 'accept-ranges': 'bytes', 'cache-control': 'no-cache', ...CROSS_ORIGIN_ISOLATION };
  const range = /^bytes=(\d*)-(\d*)$/.exec(request.headers.range ?? '');
  if (range) {
    const start = range[1] === '' ? Math.max(0, size - Number(range[2])) : Number(range[1]);
    const end = range[1] !== '' && range[2] !== '' ? Math.min(Number(range[2]), size - 1) : size - 1;
    if (start > end || start >= size) {
      response.writeHead(416, { 'content-range': `bytes */${size}` });
      response.end();
      return;
    }
    response.writeHead(206, { ...headers, 'content-range': `bytes ${start}-${end}/${size}`, 'content-length': end - start + 1 });
    createReadStream(file, { start, end }).pipe(response);
    return;
  }
  response.writeHead(200, { ...headers, 'content-length': size });
  if (request.method === 'HEAD') response.end();
  else createReadStream(file).pipe(response);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { url } = await startDemoServer();
  const models = listDemoModels();
  console.log(`nst-video demo: ${url}  (live camera: ${url}, image: ${url}image.html)`);
  console.log(models.length ? `Styles: ${models.map((m) => m.id).join(', ')}` : 'No style models in demo/models/.');
  console.log('Press Ctrl-C to stop.');
}
