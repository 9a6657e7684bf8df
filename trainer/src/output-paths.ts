/**
 * Checks on where a command will write, made before it reads a photo or loads a network: a refusal
 * costs nothing, and nothing a user made is replaced without --force (or, for a run, --resume).
 */
import { existsSync } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

/** Throws unless the folder `path` will be written into exists; `flag` is the option that named it. */
export async function assertParentFolderExists(path: string, flag: string): Promise<void> {
  const folder = dirname(resolve(path));
  const found = await stat(folder).catch(() => undefined);
  if (!found?.isDirectory()) throw new Error(`${flag} "${path}": the folder ${folder} does not exist; create it, or choose another ${flag}.`);
}

/** The files of `names` that exist in `directory`. */
export function existingFiles(directory: string, names: readonly string[]): string[] {
  return names.filter((name) => existsSync(join(directory, name)));
}

/** True when `a` and `b` name the same file (through links too), or the same path when `b` is absent. */
export async function sameFile(a: string, b: string): Promise<boolean> {
  if (resolve(a) === resolve(b)) return true;
  const [realA, realB] = await Promise.all([realpath(a).catch(() => undefined), realpath(b).catch(() => undefined)]);
  return realA !== undefined && realA === realB;
}
