#!/usr/bin/env node
// `npm run build -w nst-video` (after nst-video-shaders is built; the root `npm run build` does
// both in order): what the package publishes, from src/ into
//   dist/**/*.js + .d.ts   ES modules with their types, the Lit decorators compiled (tsc);
//   dist/nst-video.bundle.js   one ES module with every dependency, for a plain
//                              <script type="module"> page or a CDN (esbuild);
//   dist/models/default/   the default style (model.json + shards; scripts/default-style.mjs
//                          names it), found beside the code by src/default-style-model.ts;
//   custom-elements.json   the element's attributes, properties, events, slots, parts and CSS
//                          properties, read from its JSDoc (@custom-elements-manifest/analyzer).
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { copyDefaultStyle } from './default-style.mjs';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(packageDir, 'dist');
const bin = (pkg, path) => fileURLToPath(import.meta.resolve(`${pkg}/${path}`));
function run(command, args) {
  try {
    execFileSync(process.execPath, [command, ...args], { cwd: packageDir, stdio: 'inherit' });
  } catch {
    process.exit(1); // the tool has said what failed
  }
}

if (!existsSync(join(packageDir, '../shaders/dist/index.d.ts'))) {
  console.error('nst-video builds against the built nst-video-shaders: run `npm run build` at the repository root (it builds both, in order).');
  process.exit(1);
}
rmSync(dist, { recursive: true, force: true });
rmSync(join(packageDir, 'custom-elements.json'), { force: true });
run(bin('typescript', 'bin/tsc'), ['-p', 'tsconfig.build.json']);
copyDefaultStyle(join(dist, 'models/default'));

const bundleFile = join(dist, 'nst-video.bundle.js');
await esbuild.build({
  entryPoints: [join(dist, 'index.js')],
  outfile: bundleFile,
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  // Names and lines of the bundled sources, not their text (which would be 10 MB of the package).
  sourcemap: true,
  sourcesContent: false,
  legalComments: 'linked',
  // The built modules, resolved as a consumer resolves them (the repository's tsconfig maps the
  // packages to their sources).
  tsconfigRaw: {},
  logLevel: 'warning',
});
console.log(`dist/nst-video.bundle.js: ${(statSync(bundleFile).size / 1024).toFixed(0)} KiB`);

run(bin('@custom-elements-manifest/analyzer', 'cem.js'), ['analyze', '--quiet']); // custom-elements-manifest.config.mjs
