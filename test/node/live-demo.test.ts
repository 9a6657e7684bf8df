// The live demo page (demo/index.html) as a user meets it after `npm start`: in headless Chromium
// with the fake camera, it lists the styles, stylises the camera, shows the fps / ms overlay, and
// takes a snapshot. Saves a screenshot to test/generated/live-demo.png (NST_SCREENSHOT overrides).
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import puppeteer, { type Browser } from 'puppeteer-core';
import { startDemoServer } from '../../demo/serve.mjs';
import { DEFAULT_STYLE_DIR } from '../../plugin/scripts/default-style.mjs';
import { expectedAutoChoiceIn } from '../support/auto-choice-in-page.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../support/chromium.mjs';
import { fakeCameraArgs } from '../support/server-commands.js';

const SCREENSHOT = resolve(process.env.NST_SCREENSHOT ?? 'test/generated/live-demo.png');

describe('live demo page', () => {
  let demo: Awaited<ReturnType<typeof startDemoServer>>;
  let browser: Browser;
  before(async () => {
    demo = await startDemoServer({ port: 0, watch: false });
    // fakeCameraArgs makes the 320x240 clip with ffmpeg when it is missing (a fresh clone runs
    // the Node tests before web-test-runner would make it).
    const camera = ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', ...fakeCameraArgs()];
    browser = await puppeteer.launch({ executablePath: CHROMIUM_PATH, headless: true, args: [...CHROMIUM_ARGS, ...camera] });
  });
  after(async () => {
    await browser?.close();
    await demo?.close();
  });

  it('stylises the camera with the package\'s default style, shows fps / ms, and takes a snapshot', async () => {
    const page = await browser.newPage();
    await page.setViewport({ width: 1100, height: 900 });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    await page.goto(demo.url);
    const styles = await page.waitForFunction(() => (document.getElementById('model-select') as HTMLSelectElement).options.length, { timeout: 20_000 });
    assert.ok(Number(await styles.jsonValue()) > 0, 'the style picker lists the styles in demo/models/');
    // A small network input keeps the CPU (wasm) backend at a few frames per second here.
    await page.$eval('#inference-size', (input) => {
      (input as HTMLInputElement).value = '128';
      input.dispatchEvent(new Event('input'));
    });
    await page.waitForFunction(() => document.querySelector('nst-video')!.getAttribute('status') === 'running', { timeout: 60_000 });
    await page.waitForFunction(() => /fps .* ms/.test(document.getElementById('overlay')!.textContent ?? ''), { timeout: 20_000 });
    const state = await page.evaluate(() => {
      const live = document.querySelector('nst-video')!;
      const style = (document.getElementById('model-select') as HTMLSelectElement).selectedOptions[0].textContent;
      return { stats: live.stats, style, model: live.getAttribute('model'), message: document.getElementById('message')!.textContent, overlay: document.getElementById('overlay')!.textContent };
    });
    assert.equal(state.model, null, 'the page sets no model: the element loads the default style (served beside the bundles)');
    assert.match(state.style ?? '', /\(the package's default\)$/, 'the style picker names the default style once it has loaded');
    const offered = await page.$$eval('#model-select option', (options) => options.map((option) => (option as HTMLOptionElement).value));
    assert.ok(!offered.includes(`/models/${basename(DEFAULT_STYLE_DIR)}/model.json`), `the default style is offered once, as the first option (${offered.join(', ')})`);
    const expected = await expectedAutoChoiceIn(page);
    assert.equal(state.stats.backend, expected.backend, expected.gpus);
    assert.equal(state.stats.presentation, expected.presentation, expected.gpus);
    assert.deepEqual([state.stats.width, state.stats.height], [320, 240]);
    if (expected.backend === 'wasm') assert.match(state.message ?? '', /No usable GPU/, `the page says there is no usable GPU here (${expected.gpus})`);
    else assert.doesNotMatch(state.message ?? '', /No usable GPU/, `the page does not deny this GPU (${expected.gpus})`);
    await page.click('#snapshot-button');
    await page.waitForFunction(() => /nst-snapshot-\d+\.png/.test(document.getElementById('downloads')!.textContent ?? ''), { timeout: 10_000 });
    await page.evaluate(() => window.scrollTo(0, 0));
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT as `${string}.png` });
    console.log(`live demo: ${state.overlay}; screenshot ${SCREENSHOT}`);
    assert.deepEqual(errors, []);
  });
});


