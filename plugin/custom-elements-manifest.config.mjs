// `cem analyze` (run by scripts/build.mjs): custom-elements.json from the element's JSDoc, with
// the module paths of the published build and two things the analyzer reads wrongly removed.
export default {
  globs: ['src/**/*.ts'],
  outdir: '.',
  litelement: true,
  // package.json names the manifest itself ("customElements").
  packagejson: false,
  plugins: [
    {
      name: 'nst-video-published-manifest',
      packageLinkPhase({ customElementsManifest }) {
        for (const module of customElementsManifest.modules) {
          for (const declaration of module.declarations ?? []) {
            if (!declaration.customElement) continue;
            // `new CustomEvent(type, ...)` in the dispatch helper reads as an event named "type":
            // the element fires only what its class comment lists with @fires, each described.
            declaration.events = declaration.events?.filter((event) => event.description);
            // `this._sourceVideo.className = ...` in the constructor reads as a field of the element.
            declaration.members = declaration.members?.filter((member) => member.name !== 'className');
          }
        }
        publishedPaths(customElementsManifest);
      },
    },
  ],
};

/** src/element/x.ts -> dist/element/x.js everywhere (modules, exports, superclasses, inherited
 * members): the manifest describes the files a consumer imports. */
function publishedPaths(node) {
  if (Array.isArray(node)) return node.forEach(publishedPaths);
  if (!node || typeof node !== 'object') return;
  for (const [key, value] of Object.entries(node)) {
    if ((key === 'path' || key === 'module') && typeof value === 'string') node[key] = value.replace(/^\/?src\/(.*)\.[jt]s$/, 'dist/$1.js');
    else publishedPaths(value);
  }
}
