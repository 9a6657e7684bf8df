// A TypeScript app using every entry of the published packages; the test type-checks it with
// strict on and skipLibCheck off, against the .d.ts in node_modules.
import { NstVideoElement, NstVideoError, DEFAULT_INFERENCE_SIZE, type NstModelProgressDetail, type NstVideoStats, type NstVideoStatus } from 'nst-video';
import { BrowserStyleModel, NstModelError, loadStyleModel, selectBackend, type BackendChoice, type StyleModelLoadProgress } from 'nst-video/loader';
import { ARCHITECTURE_PRESETS, MODEL_FORMAT_VERSION, encodeRandomStyleModel } from 'nst-video/model';
import { NstStylizeChain, type ColorMatchMode } from 'nst-video-shaders';
import { DEFAULT_SMOOTHING, COLOR_MATCH_MODES } from 'nst-video-shaders/defaults';

const live = document.createElement('nst-video');
const element: NstVideoElement = live;
element.strength = 0.5;
element.inferenceSize = DEFAULT_INFERENCE_SIZE;
element.smoothing = DEFAULT_SMOOTHING;
live.addEventListener('nst-error', (event) => {
  const phase: NstVideoError['phase'] = event.detail.phase;
  console.log(phase, event.detail.error.message);
});
live.addEventListener('nst-model-progress', (event) => {
  const progress: NstModelProgressDetail = event.detail;
  console.log(progress.url, progress.loadedBytes / progress.totalBytes);
});
live.addEventListener('nst-stats', (event) => {
  const stats: NstVideoStats = event.detail;
  console.log(stats.fps, stats.backend);
});
const status: NstVideoStatus = live.status;
const mode: ColorMatchMode = live.colorMatchMode;
console.log(status, COLOR_MATCH_MODES.includes(mode), document.querySelector('nst-video')?.paused, NstStylizeChain.name);

export async function stylize(image: HTMLImageElement): Promise<ImageData> {
  const backend: BackendChoice = await selectBackend({ backend: 'auto', wasmPaths: '/wasm/' });
  console.log(backend.reason, ARCHITECTURE_PRESETS.slim.channels, MODEL_FORMAT_VERSION, typeof encodeRandomStyleModel);
  try {
    const model: BrowserStyleModel = await loadStyleModel('/models/starry_night/model.json');
    const defaultStyle = await loadStyleModel(undefined, { onProgress: ({ loadedBytes, totalBytes }: StyleModelLoadProgress) => console.log(loadedBytes, totalBytes) });
    defaultStyle.dispose();
    return await model.stylize(image, { size: 256 });
  } catch (error) {
    if (error instanceof NstModelError) console.log(error.code);
    throw error;
  }
}
