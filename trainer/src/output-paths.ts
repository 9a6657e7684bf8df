/**
 * Checks on where a command will write, made before it reads a photo or loads a network: a refusal
 * costs nothing, and nothing a user made is replaced without --force (or, for a run, --resume).
 */
import { existsSync } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { MODEL_JSON_FILE } from 'nst-video/model';

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

/** Throws when `directory` (an --out) already holds a model.json, unless `force`: a model is replaced only on --force. */
export function refuseToReplaceModel(directory: string, force: boolean): void {
  if (force || existingFiles(directory, [MODEL_JSON_FILE]).length === 0) return;
  throw new Error(`--out "${directory}" already holds a model (${MODEL_JSON_FILE}); pass --force to replace it, or choose another --out.`);
}

/** True when `a` and `b` name the same file (through links too), or the same path when `b` is absent. */
export async function sameFile(a: string, b: string): Promise<boolean> {
  if (resolve(a) === resolve(b)) return true;
  const [realA, realB] = await Promise.all([realpath(a).catch(() => undefined), realpath(b).catch(() => undefined)]);
  return realA !== undefined && realA === realB;
}
