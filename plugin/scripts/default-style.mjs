// The package's default style, what <nst-video> loads without a `model` attribute: one of the
// demo's styles, named here and nowhere else. `npm run build` copies it into dist/models/default/,
// where src/default-style-model.ts looks for it (beside the code); `npm start` and the browser
// tests serve the same files where their bundles look for them, and `nst stylize` and
// `nst transcode` read them from here when given no --model (default-style.d.mts types this file
// for them).
import { copyFileSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DEFAULT_STYLE_DIR = fileURLToPath(new URL('../../demo/models/the_scream/', import.meta.url));

/** model.json and the shards it lists: what the package ships of the style (not its model card). */
export function defaultStyleFiles() {
  const modelJson = JSON.parse(readFileSync(join(DEFAULT_STYLE_DIR, 'model.json'), 'utf8'));
  return ['model.json', ...modelJson.weightsManifest.flatMap((group) => group.paths)];
}

/** Copies the default style's files into `folder`, replacing what was there (written beside it, then renamed into place). */
export function copyDefaultStyle(folder) {
  const staging = `${folder}.${process.pid}.tmp`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  for (const file of defaultStyleFiles()) copyFileSync(join(DEFAULT_STYLE_DIR, file), join(staging, file));
  rmSync(folder, { recursive: true, force: true });
  renameSync(staging, folder);
}
