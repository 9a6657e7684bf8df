// `npm start` as a user meets it: the demo server, and the image page stylising an uploaded photo
// in headless Chromium.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import puppeteer, { type Browser } from 'puppeteer-core';
import sharp from 'sharp';
import { startDemoServer } from '../../demo/serve.mjs';
import { DEFAULT_STYLE_DIR } from '../../plugin/scripts/default-style.mjs';
import { expectedAutoChoiceIn } from '../support/auto-choice-in-page.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../support/chromium.mjs';

describe('demo server', () => {
  let demo: Awaited<ReturnType<typeof startDemoServer>>;
  let browser: Browser;
  let dir: string;
  before(async () => {
    demo = await startDemoServer({ port: 0, watch: false });
    browser = await puppeteer.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
    dir = await mkdtemp(join(tmpdir(), 'nst-demo-'));
  });
  after(async () => {
    await browser?.close();
    await demo?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('lists installed styles and serves the wasm binaries and byte ranges', async () => {
    const models = await (await fetch(new URL('models/index.json', demo.url))).json();
    assert.ok(models.length > 0, 'at least one style');
    assert.match(models[0].url, /^\/models\/[^/]+\/model\.json$/);
    assert.deepEqual(models.filter((model: { isDefault?: boolean }) => model.isDefault).map((model: { id: string }) => model.id), [basename(DEFAULT_STYLE_DIR)], 'the package\'s default style is marked');
    const wasm = await fetch(new URL('wasm/tfjs-backend-wasm-simd.wasm', demo.url));
    assert.equal(wasm.headers.get('content-type'), 'application/wasm');
    const range = await fetch(new URL(models[0].url, demo.url), { headers: { range: 'bytes=0-9' } });
    assert.equal(range.status, 206);
    assert.equal((await range.text()).length, 10);
    assert.equal((await fetch(new URL('../package.json', demo.url))).status, 404);
  });

  it('the image page stylises an uploaded photo at the chosen size', async () => {
    const photo = join(dir, 'photo.png');
    const width = 160, height = 120;
    const pixels = Buffer.alloc(width * height * 3);
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) pixels.set([x, y * 2, x > 60 && x < 100 ? 250 : 20], (y * width + x) * 3);
    await sharp(pixels, { raw: { width, height, channels: 3 } }).png().toFile(photo);

    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    await page.goto(new URL('image.html', demo.url).href);
    await page.waitForFunction(() => (document.getElementById('model-select') as HTMLSelectElement).options.length > 0);
    // Nothing to choose first: the first option is the package's default style, listed once.
    const options = await page.$$eval('#model-select option', (all) => all.map((option) => (option as HTMLOptionElement).value));
    assert.equal(options[0], '');
    assert.ok(!options.includes(`/models/${basename(DEFAULT_STYLE_DIR)}/model.json`), options.join(', '));
    await page.select('#size-select', '128');
    const input = await page.$('#image-file');
    await (input as any).uploadFile(photo);
    await page.waitForFunction(() => !(document.getElementById('stylize-button') as HTMLButtonElement).disabled);
    await page.click('#stylize-button');
    await page.waitForFunction(() => /ms on \w+/.test(document.getElementById('status')!.textContent ?? '') || document.getElementById('status')!.classList.contains('error'), { timeout: 120_000 });
    const status = await page.$eval('#status', (el) => ({ text: el.textContent, error: el.classList.contains('error') }));
    assert.equal(status.error, false, status.text ?? '');
    const expected = await expectedAutoChoiceIn(page);
    assert.match(status.text!, new RegExp(`at 171x128 in \\d+ ms on ${expected.backend} `), expected.gpus);
    const canvas = await page.$eval('#result-frame canvas', (c) => {
      const canvas = c as HTMLCanvasElement;
      const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      let min = 255, max = 0;
      for (let i = 0; i < data.length; i += 4) {
        min = Math.min(min, data[i]);
        max = Math.max(max, data[i]);
      }
      return { width: canvas.width, height: canvas.height, spread: max - min };
    });
    assert.deepEqual([canvas.width, canvas.height], [171, 128]);
    assert.ok(canvas.spread > 10, 'the result is not blank');
    assert.deepEqual(errors, []);
    // Isolation lets tfjs run its multi-threaded wasm build where the machine has the cores.
    assert.equal(await page.evaluate(() => crossOriginIsolated), true);
  });

  it('the video page stylises an uploaded clip with the package\'s default style, nothing chosen', async () => {
    const clip = join(dir, 'clip.mp4');
    execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=10', '-frames:v', '5', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', clip]);
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    await page.goto(new URL('transcode.html', demo.url).href);
    await page.waitForFunction(() => /Choose a video/.test(document.getElementById('status')!.textContent ?? ''), { timeout: 20_000 });
    assert.equal(await page.$eval('#model-select', (select) => (select as HTMLSelectElement).value), '', 'the default style is selected');
    await page.select('#size-select', '128');
    const input = await page.$('#video-file');
    await (input as any).uploadFile(clip);
    await page.waitForFunction(() => !(document.getElementById('start-button') as HTMLButtonElement).disabled);
    await page.click('#start-button');
    await page.waitForFunction(() => /^Done/.test(document.getElementById('status')!.textContent ?? '') || document.getElementById('status')!.classList.contains('error'), { timeout: 180_000 });
    const status = await page.$eval('#status', (el) => ({ text: el.textContent, error: el.classList.contains('error') }));
    assert.equal(status.error, false, status.text ?? '');
    assert.equal(await page.$eval('#download-link', (link) => (link as HTMLAnchorElement).hidden), false);
    assert.deepEqual(errors, []);
  });
});
