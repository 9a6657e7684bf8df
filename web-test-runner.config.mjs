// @web/test-runner: the browser half of `npm test`, in headless Debian Chromium.
// Each test file is bundled by esbuild (tfjs-core imports CommonJS packages that the dev server
// would serve raw), fixture models are written before the run, and a few server commands let
// browser tests ask Node for a reference result (see test/support/server-commands.ts).
import { defaultReporter, summaryReporter } from '@web/test-runner';
import { chromeLauncher } from '@web/test-runner-chrome';
import * as esbuild from 'esbuild';
import { tsImport } from 'tsx/esm/api';
import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './test/support/chromium.mjs';
import { DEFAULT_STYLE_DIR } from './plugin/scripts/default-style.mjs';

const support = await tsImport('./test/support/server-commands.ts', import.meta.url);
await support.writeBrowserFixtures();

/**
 * The project's Chromium flags plus a fake camera fed from a clip; for the transcode memory test,
 * exact performance.memory figures (without the flag they are rounded and cached for minutes) and
 * gc(), so that it reads the live heap rather than wherever the collector's sawtooth stands.
 */
export const chromiumArgs = [
  ...CHROMIUM_ARGS,
  '--enable-precise-memory-info',
  '--js-flags=--expose-gc',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  ...support.fakeCameraArgs(),
];

const bundleTestFiles = {
  name: 'nst-bundle-test-files',
  async serve(context) {
    if (!/^\/test\/browser\/.*\.test\.ts$/.test(context.path)) return undefined;
    const result = await esbuild.build({
      entryPoints: [`.${context.path}`],
      bundle: true,
      format: 'esm',
      target: 'es2022',
      write: false,
      sourcemap: 'inline',
      logLevel: 'silent',
    });
    return { body: result.outputFiles[0].text, type: 'js' };
  },
};

/**
 * <nst-video> without a model loads the default style from models/default/ beside its code, which
 * here is beside each test file's bundle: those requests get the style's files from where they live.
 */
function defaultStyleBesideBundles(context, next) {
  const file = /\/models\/default\/([^/]+)$/.exec(context.path)?.[1];
  if (file) context.path = `/${relative('.', DEFAULT_STYLE_DIR)}/${file}`;
  return next();
}

const nodeCommands = {
  name: 'nst-node-commands',
  async executeCommand({ command, payload }) {
    const handler = support.serverCommands[command];
    return handler ? handler(payload) : undefined;
  },
};

/** Writes {passed, failed, skipped} for test/run-all.mjs; a file that failed to load counts as failed. */
function countingReporter() {
  return {
    onTestRunFinished({ sessions }) {
      const counts = { passed: 0, failed: 0, skipped: 0 };
      const walk = (suite) => {
        for (const test of suite.tests) {
          if (test.skipped) counts.skipped++;
          else if (test.passed) counts.passed++;
          else counts.failed++;
        }
        for (const child of suite.suites) walk(child);
      };
      for (const session of sessions) {
        if (session.testResults) walk(session.testResults);
        if (session.errors?.length || (!session.passed && !session.testResults?.tests.length && !session.testResults?.suites.length)) counts.failed++;
      }
      if (process.env.NST_TEST_SUMMARY) writeFileSync(process.env.NST_TEST_SUMMARY, JSON.stringify(counts));
    },
  };
}

export default {
  rootDir: '.',
  files: ['test/browser/**/*.test.ts'],
  nodeResolve: false,
  concurrency: 1,
  concurrentBrowsers: 1,
  // Software WebGPU/WebGL run the network slowly here; a browser test may take minutes.
  testsFinishTimeout: 30 * 60 * 1000,
  browserStartTimeout: 120 * 1000,
  testFramework: { config: { timeout: 300000 } },
  browsers: [
    chromeLauncher({
      launchOptions: {
        executablePath: CHROMIUM_PATH,
        headless: true,
        args: chromiumArgs,
      },
    }),
  ],
  middleware: [defaultStyleBesideBundles],
  plugins: [bundleTestFiles, nodeCommands],
  reporters: [defaultReporter(), summaryReporter({ flatten: false }), countingReporter()],
};
