/**
 * nst-video/loader: load a style and stylise images, without the `<nst-video>` element. It pulls
 * in tfjs but neither Lit nor three.js, so an app that only repaints images stays small.
 */
export { BrowserStyleModel, loadStyleModel } from './load-style-model.js';
export type { ImageInput, LoadStyleModelOptions, StyleModelSource } from './load-style-model.js';
export { BROWSER_BACKENDS, selectBackend } from './backend/select-backend.js';
export type { BackendChoice, BackendName, BackendOptions, BackendPreference } from './backend/select-backend.js';
export { NstModelError } from './model/index.js';
export type { NstModelErrorCode, StyleModelLoadProgress, StylizeOptions } from './model/index.js';
