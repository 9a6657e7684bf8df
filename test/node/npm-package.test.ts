// `npm install nst-video` in apps that are not this repository: builds and packs nst-video and
// nst-video-shaders (`npm run build`, `npm pack`), installs the tarballs into a fresh folder
// (from npm's cache where it can), and there
// - builds a Vite app (test/npm-consumer/index.html + main.ts, no tsconfig, no config) and serves
//   it, and serves a plain page that loads dist/nst-video.bundle.js with one <script type=module>:
//   in headless Chromium with a fake camera, `<nst-video camera>` with no model attribute loads the
//   package's default style (nst-model-progress up to all its bytes) and reaches "running" in each;
// - type-checks a TypeScript file using every entry against the published .d.ts (strict, with
//   skipLibCheck off, for moduleResolution bundler and nodenext);
// - bundles `import { loadStyleModel } from 'nst-video/loader'` and finds neither Lit nor three.js
//   in it (prints its size beside the element entry's).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, createReadStream, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import * as esbuild from 'esbuild';
import puppeteer, { type Browser } from 'puppeteer-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../support/chromium.mjs';
import { fakeCameraArgs } from '../support/server-commands.js';

const ROOT = process.cwd();
const CONSUMER_SOURCES = join(ROOT, 'test/npm-consumer');
const PACKAGES = ['nst-video-shaders', 'nst-video'];
/** Lit, three.js and what only the element needs: none of it belongs in the loader entry. */
const ELEMENT_ONLY = /node_modules\/(lit|lit-html|lit-element|@lit|@lit-labs|three|mediabunny|nst-video-shaders)\//;

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.json': 'application/json', '.wasm': 'application/wasm', '.bin': 'application/octet-stream', '.css': 'text/css' };

function sh(command: string, args: string[], cwd: string): string {
  try {
    return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} (in ${cwd}) failed:\n${stdout ?? ''}${stderr ?? ''}`, { cause: error });
  }
}

/** The error lines of `tsc -p config` (paths relative to the app), none when it passes. */
function tscErrors(config: string, cwd: string): string[] {
  try {
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', config, '--pretty', 'false'], { cwd, encoding: 'utf8', stdio: 'pipe' });
    return [];
  } catch (error) {
    return String((error as { stdout?: string }).stdout ?? error).split('\n').filter((line) => / error TS\d+:/.test(line));
  }
}

/** A static server for `root`, with tfjs's wasm at /wasm/. */
async function serve(root: string, app: string): Promise<{ server: Server; url: string }> {
  const mounts: [string, string][] = [
    ['/wasm/', join(app, 'node_modules/@tensorflow/tfjs-backend-wasm/dist')],
    ['/', root],
  ];
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
    const [prefix, dir] = mounts.find(([prefix]) => path.startsWith(prefix))!;
    const file = normalize(join(dir, path.slice(prefix.length) || 'index.html'));
    const found = file.startsWith(dir) && existsSync(file) && statSync(file).isFile() ? file : existsSync(join(file, 'index.html')) ? join(file, 'index.html') : null;
    if (!found) {
      response.writeHead(404).end(`Not found: ${path}`);
      return;
    }
    response.writeHead(200, { 'content-type': TYPES[extname(found)] ?? 'application/octet-stream' });
    createReadStream(found).pipe(response);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}

describe('the published packages in a fresh app', () => {
  let app: string;
  let browser: Browser;
  const servers: Server[] = [];

  before(async () => {
    app = mkdtempSync(join(tmpdir(), 'nst-npm-consumer-'));
    sh('npm', ['run', 'build'], ROOT);
    // prepack would build again: the build above is the one under test.
    const packed = JSON.parse(sh('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', app, ...PACKAGES.flatMap((name) => ['-w', name])], ROOT)) as { filename: string; name: string }[];
    const tarballs = Object.fromEntries(packed.map((p) => [p.name, `file:./${p.filename}`]));
    cpSync(CONSUMER_SOURCES, app, { recursive: true });
    writeFileSync(join(app, 'package.json'), JSON.stringify({
      name: 'nst-npm-consumer',
      private: true,
      type: 'module',
      dependencies: tarballs,
      // A TypeScript app that imports three's types installs them itself (an optional peer).
      devDependencies: { vite: '^7.3.8', '@types/three': '^0.187.0' },
    }, null, 2));
    // From npm's cache: the packages' dependencies are the repository's own.
    const started = Date.now();
    sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], app);
    console.log(`npm install of the tarballs: ${((Date.now() - started) / 1000).toFixed(0)} s`);
    const camera = ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', ...fakeCameraArgs()];
    browser = await puppeteer.launch({ executablePath: CHROMIUM_PATH, headless: true, args: [...CHROMIUM_ARGS, ...camera] });
  });

  after(async () => {
    await browser?.close();
    for (const server of servers) server.close();
    if (app) rmSync(app, { recursive: true, force: true });
  });

  it('installs compiled ES modules with .d.ts, the bundle, the default style, the manifest, README and LICENSE', () => {
    const installed = join(app, 'node_modules/nst-video');
    for (const file of ['dist/index.js', 'dist/index.d.ts', 'dist/loader.js', 'dist/loader.d.ts', 'dist/model/index.js', 'dist/nst-video.bundle.js', 'dist/models/default/model.json', 'custom-elements.json', 'README.md', 'LICENSE']) {
      assert.ok(existsSync(join(installed, file)), `nst-video has ${file}`);
    }
    for (const file of ['dist/index.js', 'dist/index.d.ts', 'README.md', 'LICENSE']) assert.ok(existsSync(join(app, 'node_modules/nst-video-shaders', file)), `nst-video-shaders has ${file}`);
    const element = readFileSync(join(installed, 'dist/element/nst-video-element.js'), 'utf8');
    assert.doesNotMatch(element, /^\s*@\w+/m, 'no decorator syntax is left for the consumer to compile');
    const manifest = JSON.parse(readFileSync(join(installed, 'custom-elements.json'), 'utf8'));
    const declaration = manifest.modules.flatMap((m: { declarations?: { tagName?: string }[] }) => m.declarations ?? []).find((d: { tagName?: string }) => d.tagName === 'nst-video');
    const events: string[] = declaration.events.map((e: { name: string }) => e.name);
    assert.deepEqual(events.filter((name) => name.startsWith('nst-')).sort(), ['nst-error', 'nst-model-load', 'nst-model-progress', 'nst-ready', 'nst-stats']);
    for (const name of ['play', 'pause', 'playing', 'ended', 'timeupdate', 'loadedmetadata', 'error']) assert.ok(events.includes(name), `the manifest lists the media event ${name}`);
    const packageJson = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { customElements: string };
    assert.ok(existsSync(join(installed, packageJson.customElements)), `package.json's customElements (${packageJson.customElements}) is in the package`);
    for (const m of manifest.modules) assert.ok(existsSync(join(installed, m.path)), `the manifest's module ${m.path} is in the package`);
  });

  it('type-checks a strict TypeScript app against the published .d.ts', () => {
    // An app's usual settings (Vite's template: strict, skipLibCheck) must give no error at all.
    // With skipLibCheck off, nothing in our packages may fail; what fails in other packages' .d.ts
    // (mediabunny's WebCodecs types against TypeScript's DOM lib, say) is printed, not ours to fix.
    const configs = [
      { module: 'ESNext', moduleResolution: 'Bundler', skipLibCheck: true },
      { module: 'NodeNext', moduleResolution: 'NodeNext', skipLibCheck: true },
      { module: 'ESNext', moduleResolution: 'Bundler', skipLibCheck: false },
    ];
    for (const options of configs) {
      const config = join(app, 'typed', 'tsconfig.json');
      writeFileSync(config, JSON.stringify({ compilerOptions: { ...options, target: 'ES2022', lib: ['ES2023', 'DOM', 'DOM.Iterable'], strict: true, noEmit: true }, files: ['consumer.ts'] }));
      const errors = tscErrors(config, app);
      const ours = errors.filter((line) => /^(typed|node_modules\/nst-video(-shaders)?)\//.test(line));
      const label = JSON.stringify(options);
      if (options.skipLibCheck) assert.deepEqual(errors, [], `tsc ${label}`);
      else {
        assert.deepEqual(ours, [], `tsc ${label}: errors in nst-video, nst-video-shaders or the app`);
        const others = [...new Set(errors.map((line) => line.split('(')[0]))];
        console.log(`tsc ${label}: ${errors.length} errors in other packages' .d.ts${others.length ? `: ${others.join(', ')}` : ''}`);
      }
    }
  });

  it('bundles the loader entry without Lit and three.js', async () => {
    const sizes: Record<string, string> = {};
    for (const entry of ['loader-entry.js', 'element-entry.js']) {
      const result = await esbuild.build({
        absWorkingDir: app, entryPoints: [entry], bundle: true, minify: true, format: 'esm', target: 'es2022', write: false, metafile: true, logLevel: 'silent',
      });
      const inputs = Object.keys(result.metafile.inputs);
      const bytes = result.outputFiles[0].contents;
      sizes[entry] = `${(bytes.length / 1024).toFixed(0)} KiB (${(gzipSync(bytes).length / 1024).toFixed(0)} KiB gzip)`;
      if (entry === 'loader-entry.js') assert.deepEqual(inputs.filter((input) => ELEMENT_ONLY.test(input)), [], 'the loader bundle holds no element-only module');
      else assert.ok(inputs.some((input) => /node_modules\/lit-element\//.test(input)), 'the element bundle holds Lit (the check above can see it)');
    }
    console.log(`import { loadStyleModel } from 'nst-video/loader': ${sizes['loader-entry.js']}; import 'nst-video': ${sizes['element-entry.js']}`);
  });

  const pages = [
    {
      name: 'a Vite app (vite build, no tsconfig)',
      root: () => {
        sh(process.execPath, [join(app, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], app);
        const assets = readdirSync(join(app, 'dist/assets'));
        console.log(`vite build: ${assets.map((f) => `${f} ${(statSync(join(app, 'dist/assets', f)).size / 1024).toFixed(0)} KiB`).join(', ')}`);
        // Vite copies what `new URL(`./models/default/${file}`, import.meta.url)` can name, under hashed names.
        for (const file of ['model', 'group1-shard1of1']) assert.ok(assets.some((f) => f.startsWith(`${file}-`)), `Vite emitted the default style's ${file}`);
        return { root: join(app, 'dist'), path: '' };
      },
    },
    { name: 'a plain page with <script type="module" src=".../nst-video.bundle.js">', root: () => ({ root: app, path: 'plain/' }) },
  ];
  for (const page of pages) {
    it(`<nst-video camera> runs in ${page.name}`, async () => {
      const { root, path } = page.root();
      const { server, url } = await serve(root, app);
      servers.push(server);
      const tab = await browser.newPage();
      const problems: string[] = [];
      tab.on('pageerror', (error) => problems.push(String(error)));
      tab.on('console', (message) => message.type() === 'error' && problems.push(message.text()));
      tab.on('requestfailed', (request) => problems.push(`${request.url()}: ${request.failure()?.errorText}`));
      await tab.goto(url + path);
      try {
        await tab.waitForFunction(() => document.querySelector('nst-video')?.getAttribute('status') === 'running', { timeout: 120_000 });
      } catch (error) {
        const state = await tab.evaluate(() => ({ status: document.querySelector('nst-video')?.getAttribute('status'), defined: !!customElements.get('nst-video') }));
        throw new Error(`<nst-video> did not reach "running" (${JSON.stringify(state)}); the page said: ${problems.join(' | ') || 'nothing'}`, { cause: error });
      }
      const stats = await tab.evaluate(() => document.querySelector('nst-video')!.stats);
      const progress = await tab.evaluate(() => (window as Window & { modelProgress?: { loadedBytes: number; totalBytes: number }[] }).modelProgress ?? []);
      console.log(`${page.name}: running on ${stats.backend} / ${stats.presentation}, ${stats.width}x${stats.height}, served from ${relative(app, root) || '.'}; the default style in ${progress.length} nst-model-progress events`);
      assert.ok(stats.width > 0 && stats.height > 0, 'frames of the camera are shown');
      const last = progress.at(-1);
      assert.ok(last && last.totalBytes > 0 && last.loadedBytes === last.totalBytes, `nst-model-progress ends with every byte of the default style (${JSON.stringify(last)})`);
      assert.deepEqual(problems, []);
      await tab.close();
    });
  }
});
