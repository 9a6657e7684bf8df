/**
 * What the GPU machine's bundle puts in place of packages it cannot carry (build-pack.mjs aliases
 * them here): tsx (the bundle is already JavaScript) and h5wasm (only `nst import-vgg` uses it).
 */
function missing(what: string): never {
  throw new Error(`${what} is not in the GPU machine's bundle (device-pack/bundle-stubs.ts); run it on a development machine.`);
}

/** tsx/cjs/api's require. */
export function require(id: string): never {
  return missing(`Loading "${id}" through tsx`);
}

/** h5wasm/node: any use. */
export default new Proxy({}, { get: () => missing('Reading HDF5 (nst import-vgg)') });
