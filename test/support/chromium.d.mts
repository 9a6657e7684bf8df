export { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../trainer/src/browser/chromium.mjs';
