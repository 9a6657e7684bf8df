/** Test helpers: run `nst` as a user does (a process) or in this process (fast, for usage errors). */
import { AsyncLocalStorage } from 'node:async_hooks';
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

/**
 * `nst ...args` through main() in this process, with its stdout and stderr captured.
 *
 * Only writes made from main()'s own async context are captured: node:test's reporter writes this
 * process's results to the same stdout a little later (from its own stream), and a capture that
 * swapped process.stdout.write for the length of the call swallowed the reports of the tests
 * before it (a failure then showed only as a non-zero exit code, with no test named).
 */
export async function nstInProcess(...args: string[]): Promise<NstResult> {
  routeWritesThroughCapture();
  const output = { stdout: '', stderr: '' };
  const code = await capturedOutput.run(output, () => main(['node', 'nst', ...args]));
  return { code, ...output };
}

const capturedOutput = new AsyncLocalStorage<{ stdout: string; stderr: string }>();
let routed = false;

function routeWritesThroughCapture(): void {
  if (routed) return;
  routed = true;
  for (const name of ['stdout', 'stderr'] as const) {
    const stream = process[name];
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      const output = capturedOutput.getStore();
      if (!output) return write(chunk, ...rest);
      output[name] += String(chunk);
      const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    }) as typeof stream.write;
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
