// The tests and benches run Chromium as `nst transcode` does: one home for its path and flags.
export { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../trainer/src/browser/chromium.mjs';
