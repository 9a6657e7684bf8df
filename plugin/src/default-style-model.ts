/**
 * Where the package's default style is: what `<nst-video>` loads without a `model` attribute and
 * `loadStyleModel()` without a source. `npm run build` copies it into `dist/models/default/`
 * (model.json and its shards; plugin/scripts/default-style.mjs names the style).
 *
 * Each file's URL is `new URL(`./models/default/${file}`, import.meta.url)`, the one form that
 * resolves wherever this code ends up: in the package's ES modules (this file is dist/
 * default-style-model.js), in the single-file bundle (dist/nst-video.bundle.js, beside the same
 * folder), and in a Vite build, which copies the files matching the pattern as assets under
 * hashed names. That is also why every file gets its own URL here instead of the shards being
 * found next to model.json.
 */
export function defaultStyleModelFileUrl(file: string): URL {
  return new URL(`./models/default/${file}`, import.meta.url);
}
