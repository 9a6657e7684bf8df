/** Node side of auto-choice.ts: runs it in a puppeteer page (bundled, since the page cannot import TypeScript). */
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import type { Page } from 'puppeteer-core';
import type { AutoChoice } from './auto-choice.js';

const SOURCE = fileURLToPath(new URL('./auto-choice.ts', import.meta.url));

export async function expectedAutoChoiceIn(page: Page): Promise<AutoChoice> {
  const bundle = await esbuild.build({ entryPoints: [SOURCE], bundle: true, format: 'iife', globalName: 'nstAutoChoice', target: 'es2022', write: false, logLevel: 'silent' });
  return (await page.evaluate(`${bundle.outputFiles[0].text}; nstAutoChoice.expectedAutoChoice()`)) as AutoChoice;
}
