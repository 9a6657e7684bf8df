/**
 * `nst transcode`: a whole video file through a style model, with its sound. The work is the
 * plugin's transcodeVideo() (WebCodecs, three.js and tfjs need a browser), run in headless
 * Chromium on a page this command serves from a local server: the page, the tfjs wasm files, the
 * model, the input (with HTTP Range, so a large file is read in pieces) and an upload route the
 * result is streamed to, under a temporary name that is renamed once complete.
 */
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { readFile, rename, rm, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { MODEL_JSON_FILE } from 'nst-video/model';
import type { BackendPreference, TranscodeFormat, TranscodeProgress } from 'nst-video';
import type { ColorMatchMode } from 'nst-video-shaders';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../browser/chromium.mjs';
import type { TranscodePageRequest, TranscodePageResult } from '../browser/transcode-page.js';
import { InterruptedError, UsageError } from '../exit-codes.js';
import { readStyleModelFromDisk } from '../model-files.js';
import { assertParentFolderExists, sameFile } from '../output-paths.js';

/** The backends the page can run the network on (the plugin's BROWSER_BACKENDS, plus auto). */
export const TRANSCODE_BACKENDS = ['auto', 'webgpu', 'webgl', 'wasm', 'cpu'] as const satisfies readonly BackendPreference[];
export const TRANSCODE_FORMATS = ['mp4', 'webm'] as const satisfies readonly TranscodeFormat[];
const EXTENSIONS: Record<string, TranscodeFormat> = { '.mp4': 'mp4', '.m4v': 'mp4', '.mov': 'mp4', '.webm': 'webm', '.mkv': 'webm' };

export interface TranscodeCommandOptions {
  model: string;
  /** Short side of the network's input, px. */
  size: number;
  strength: number;
  smoothing: number;
  colorMatch: number;
  colorMatchMode: ColorMatchMode;
  /** Default: from the output's extension. */
  format?: TranscodeFormat;
  backend: BackendPreference;
  /** Replace the output when it exists. */
  force: boolean;
}

export async function runTranscode(input: string, output: string, options: TranscodeCommandOptions): Promise<void> {
  const format = await checkPaths(input, output, options);
  const modelDir = await modelDirectory(options.model);
  // Read and checked here too, before Chromium starts: a damaged model is named at once, and the style's name is printed.
  const styleName = (await readStyleModelFromDisk(modelDir)).metadata.style.name;
  const temporary = join(dirname(resolve(output)), `.${basename(output)}.nst-${process.pid}.partial`);
  const progress = new ProgressLine();
  const session = await TranscodeSession.start(input, modelDir, temporary);
  const interrupted = new Promise<NodeJS.Signals>((resolveSignal) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolveSignal(signal);
      void session.cancel();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    session.onEnd(() => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    });
  });
  try {
    const request: TranscodePageRequest = {
      inferenceSize: options.size,
      strength: options.strength,
      smoothing: options.smoothing,
      colorMatch: options.colorMatch,
      colorMatchMode: options.colorMatchMode,
      format,
      backend: options.backend,
    };
    const result = await session.run(request, (p) => progress.update(p));
    progress.end();
    if (!result.ok) {
      if (result.canceled) throw new InterruptedError(await interrupted);
      throw new Error(`${input}: ${result.message}${result.code ? ` (${result.code})` : ''}`);
    }
    await rename(temporary, output);
    console.log(`Wrote ${output} (${format}, ${(result.bytes / 1e6).toFixed(2)} MB, ${progress.frames} frames) in the style "${styleName}" in ${result.seconds.toFixed(1)} s.`);
  } finally {
    progress.end();
    await session.close();
    await rm(temporary, { force: true });
  }
}

/**
 * Everything about the input and output that would make the work be thrown away, checked before
 * Chromium starts: resolves with the output's container.
 */
async function checkPaths(input: string, output: string, options: TranscodeCommandOptions): Promise<TranscodeFormat> {
  const extension = extname(output).toLowerCase();
  const byExtension = EXTENSIONS[extension];
  if (!options.format && !byExtension) throw new UsageError(`<output> "${output}": name it .mp4 or .webm, or pass --format mp4|webm.`);
  if (options.format && byExtension && options.format !== byExtension) {
    throw new UsageError(`--format ${options.format} does not match <output> "${output}" (a ${extension} file is ${byExtension}); change one of them.`);
  }
  if (!(await stat(input).catch(() => undefined))?.isFile()) throw new Error(`<input> "${input}" is not a file; check the path.`);
  if (await sameFile(output, input)) {
    throw new UsageError(`<output> "${output}" is the <input> video; choose another <output> (nst transcode never writes over its input, even with --force).`);
  }
  await assertParentFolderExists(output, '<output>');
  if (!options.force && existsSync(output)) throw new Error(`<output> "${output}" exists; pass --force to replace it, or choose another <output>.`);
  return options.format ?? byExtension!;
}

/** The folder of model.json, from the folder or the file. */
async function modelDirectory(model: string): Promise<string> {
  const found = await stat(model).catch(() => undefined);
  const directory = found?.isDirectory() ? model : dirname(model);
  if (!found || !existsSync(join(directory, MODEL_JSON_FILE))) throw new Error(`--model "${model}": no ${MODEL_JSON_FILE} there. Pass a model folder (nst init or nst train --out) or its ${MODEL_JSON_FILE}.`);
  return resolve(directory);
}

/** One progress line on stderr: rewritten in place on a terminal, every few seconds elsewhere. */
class ProgressLine {
  frames = 0;
  private _lastPrint = 0;
  private _open = false;

  update(progress: TranscodeProgress): void {
    this.frames = progress.frames;
    const now = performance.now();
    const done = progress.frames >= progress.totalFrames;
    if (!process.stderr.isTTY && !done && now - this._lastPrint < 5000) return;
    this._lastPrint = now;
    const eta = Number.isFinite(progress.etaSeconds) ? `${Math.ceil(progress.etaSeconds)} s` : '?';
    const line = `frame ${progress.frames}/${progress.totalFrames}  ${progress.fps.toFixed(1)} fps  ETA ${eta}`;
    if (process.stderr.isTTY) {
      process.stderr.write(`\r${line}\x1b[K`);
      this._open = true;
    } else {
      process.stderr.write(`${line}\n`);
    }
  }

  end(): void {
    if (this._open) process.stderr.write('\n');
    this._open = false;
  }
}

const PAGE_ENTRY = fileURLToPath(new URL('../browser/transcode-page.ts', import.meta.url));
const require = createRequire(import.meta.url);
/** How long one page call may take: the whole transcode is one. */
const PROTOCOL_TIMEOUT_MS = 24 * 3600 * 1000;
const CANCELED: TranscodePageResult = { ok: false, canceled: true, name: 'NstTranscodeCanceledError', message: 'The transcode was cancelled.' };

/** Chromium with the transcode page open, and the local server that feeds it. */
class TranscodeSession {
  private _endListeners: (() => void)[] = [];
  private _page: Page | null = null;
  private _canceled = false;

  private constructor(
    private readonly _server: Server,
    private readonly _browser: Browser,
  ) {}

  static async start(input: string, modelDir: string, temporary: string): Promise<TranscodeSession> {
    const bundle = await esbuild.build({ entryPoints: [PAGE_ENTRY], bundle: true, format: 'esm', target: 'es2022', write: false, logLevel: 'silent' });
    const wasmDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
    const routes: Route = async (request, response, path) => {
      if (path === '/') return send(response, 200, 'text/html', '<!doctype html><meta charset="utf-8"><title>nst transcode</title><script type="module" src="/transcode.js"></script>');
      if (path === '/transcode.js') return send(response, 200, 'text/javascript', bundle.outputFiles[0].text);
      if (path.startsWith('/wasm/') && path.endsWith('.wasm')) return sendFile(request, response, join(wasmDir, 'dist', basename(path)), 'application/wasm');
      if (path.startsWith('/model/')) return sendFile(request, response, join(modelDir, basename(path)), path.endsWith('.json') ? 'application/json' : 'application/octet-stream');
      if (path === '/input') return sendFile(request, response, input, 'application/octet-stream');
      if (path === '/output' && request.method === 'PUT') {
        await pipeline(request, createWriteStream(temporary));
        return send(response, 200, 'text/plain', 'ok');
      }
      return send(response, 404, 'text/plain', 'not found');
    };
    const server = createServer((request, response) => {
      const path = new URL(request.url ?? '/', 'http://localhost').pathname;
      routes(request, response, path).catch((error: Error) => {
        if (!response.headersSent) send(response, 500, 'text/plain', error.message);
        else response.destroy(error);
      });
    });
    await new Promise<void>((resolveListen, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolveListen));
    let browser: Browser;
    try {
      // A long video keeps page.evaluate busy for as long as it takes; Ctrl-C is ours to handle.
      browser = await puppeteer.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS, protocolTimeout: PROTOCOL_TIMEOUT_MS, handleSIGINT: false, handleSIGTERM: false });
    } catch (error) {
      server.close();
      throw new Error(`Chromium (${CHROMIUM_PATH}) could not be started: ${(error as Error).message}. Install it (apt-get install chromium) or set CHROME_PATH.`, { cause: error });
    }
    return new TranscodeSession(server, browser);
  }

  onEnd(listener: () => void): void {
    this._endListeners.push(listener);
  }

  async run(request: TranscodePageRequest, onProgress: (progress: TranscodeProgress) => void): Promise<TranscodePageResult> {
    const page = await this._browser.newPage();
    this._page = page;
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String((error as Error).message ?? error)));
    await page.exposeFunction('nstProgress', onProgress);
    const { port } = this._server.address() as { port: number };
    // localhost: a secure context, so WebGPU and WebCodecs are there.
    await page.goto(`http://localhost:${port}/`);
    await page.waitForFunction(() => 'nstTranscode' in window, { timeout: 60_000 }).catch(() => {
      throw new Error(`The transcode page did not start${errors.length ? `: ${errors.join('; ')}` : ''}.`);
    });
    if (this._canceled) return CANCELED;
    return page.evaluate((r) => window.nstTranscode(r), request);
  }

  /** Asks the page to cancel; the run then resolves as cancelled. */
  async cancel(): Promise<void> {
    this._canceled = true;
    await this._page?.evaluate(() => window.nstCancel()).catch(() => {});
  }

  async close(): Promise<void> {
    for (const listener of this._endListeners) listener();
    await this._browser.close().catch(() => {});
    this._server.closeAllConnections();
    await new Promise((resolveClose) => this._server.close(resolveClose));
  }
}

type Route = (request: IncomingMessage, response: ServerResponse, path: string) => Promise<void>;

function send(response: ServerResponse, status: number, type: string, body: string | Buffer): void {
  response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  response.end(body);
}

/** A file, or the byte range a `Range: bytes=a-b` header asks for (mediabunny reads media that way). */
async function sendFile(request: IncomingMessage, response: ServerResponse, path: string, type: string): Promise<void> {
  const found = await stat(path).catch(() => undefined);
  if (!found?.isFile()) return send(response, 404, 'text/plain', 'not found');
  const size = found.size;
  const range = /^bytes=(\d*)-(\d*)$/.exec(request.headers.range ?? '');
  if (!range || (range[1] === '' && range[2] === '')) {
    if (size < 1 << 20) return send(response, 200, type, await readFile(path));
    response.writeHead(200, { 'content-type': type, 'content-length': size, 'accept-ranges': 'bytes' });
    return pipeline(createReadStream(path), response);
  }
  // "bytes=-n" is the last n bytes.
  const start = range[1] === '' ? Math.max(0, size - Number(range[2])) : Number(range[1]);
  const end = range[1] === '' || range[2] === '' ? size - 1 : Math.min(Number(range[2]), size - 1);
  if (start >= size || start > end) {
    response.writeHead(416, { 'content-range': `bytes */${size}` });
    return void response.end();
  }
  response.writeHead(206, { 'content-type': type, 'content-length': end - start + 1, 'content-range': `bytes ${start}-${end}/${size}`, 'accept-ranges': 'bytes' });
  return pipeline(createReadStream(path, { start, end }), response);
}
