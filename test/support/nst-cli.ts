/** Test helpers: run `nst` as a user does (a process) or in this process (fast, for usage errors). */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { main } from '../../trainer/src/cli.js';

const run = promisify(execFile);
const NST = join(process.cwd(), 'trainer/bin/nst.mjs');

export interface NstResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `nst ...args` in a child process, as from a shell. */
export async function nstProcess(...args: string[]): Promise<NstResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [NST, ...args], { timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** `nst ...args` through main() in this process, with its stdout and stderr captured. */
export async function nstInProcess(...args: string[]): Promise<NstResult> {
  const output = { stdout: '', stderr: '' };
  const writes = { stdout: process.stdout.write, stderr: process.stderr.write };
  process.stdout.write = ((chunk: string | Uint8Array) => ((output.stdout += String(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((output.stderr += String(chunk)), true)) as typeof process.stderr.write;
  try {
    const code = await main(['node', 'nst', ...args]);
    return { code, ...output };
  } finally {
    process.stdout.write = writes.stdout;
    process.stderr.write = writes.stderr;
  }
}

/** Every file under `directory`, by relative path, with its bytes: to prove nothing changed. */
export async function snapshotFiles(directory: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const path of (await readdir(directory, { recursive: true })).sort()) {
    const bytes = await readFile(join(directory, path)).catch(() => undefined); // undefined: a folder
    if (bytes) files.set(path, bytes);
  }
  return files;
}
