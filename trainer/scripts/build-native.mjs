#!/usr/bin/env node
// `npm run setup:native`: builds the nst-native addon (trainer/native/nst-native.cpp) into
// trainer/native/build/nst-native.node, which makes `nst` run its convolutions on oneDNN instead of
// wasm: several times faster training and evaluation on x86 CPUs. Needs a C++17 compiler (g++) and
// oneDNN's headers and library (Debian/Ubuntu: `apt-get install g++ libdnnl-dev`).
//
// `--if-possible` (what `npm install` runs) builds when both are there and otherwise says in one
// line why not and exits 0: without the addon everything works, on wasm alone.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ifPossible = process.argv.includes('--if-possible');
const native = fileURLToPath(new URL('../native/', import.meta.url));
const source = join(native, 'nst-native.cpp');
const output = join(native, 'build', 'nst-native.node');
const compiler = process.env.CXX ?? 'g++';
const nodeHeaders = [join(dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node'].find((dir) => existsSync(join(dir, 'node_api.h')));

function giveUp(reason) {
  const message = `nst-native not built: ${reason}. nst runs on wasm alone (slower); "npm run setup:native" builds it once that is installed.`;
  if (ifPossible) {
    console.log(message);
    process.exit(0);
  }
  console.error(message);
  process.exit(1);
}

if (process.platform !== 'linux' || process.arch !== 'x64') giveUp(`it is built for Linux on x86-64 only, this is ${process.platform}-${process.arch}`);
if (spawnSync(compiler, ['--version'], { stdio: 'ignore' }).status !== 0) giveUp(`no C++ compiler (${compiler}; apt-get install g++)`);
if (!nodeHeaders) giveUp(`Node's headers (node_api.h) are not next to ${process.execPath}`);
const hasOneDnn = spawnSync(compiler, ['-std=c++17', '-fsyntax-only', '-x', 'c++', '-'], { input: '#include <dnnl.hpp>\n', stdio: ['pipe', 'ignore', 'ignore'] }).status === 0;
if (!hasOneDnn) giveUp('oneDNN is not installed (apt-get install libdnnl-dev)');

mkdirSync(dirname(output), { recursive: true });
const partial = `${output}.partial`;
try {
  execFileSync(compiler, ['-O2', '-std=c++17', '-shared', '-fPIC', '-fopenmp', `-I${nodeHeaders}`, source, '-ldnnl', '-o', partial], { stdio: ['ignore', 'inherit', 'inherit'] });
  renameSync(partial, output);
} catch (error) {
  rmSync(partial, { force: true });
  giveUp(`${compiler} failed (${error.message.split('\n')[0]})`);
}
const version = spawnSync(process.execPath, ['-e', `console.log(require(${JSON.stringify(output)}).version())`], { encoding: 'utf8' });
if (version.status !== 0) {
  rmSync(output, { force: true });
  giveUp(`the built addon does not load (${version.stderr.trim().split('\n').pop()})`);
}
console.log(`nst-native built: ${output} (${version.stdout.trim()}).`);
