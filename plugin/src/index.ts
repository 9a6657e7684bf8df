/**
 * nst-video: real-time neural style transfer for the web.
 *
 * - `loadStyleModel(url | files)` loads a style; `model.stylize(image, {size})` repaints an image.
 * - `selectBackend()` picks the fastest tfjs backend (WebGPU, WebGL, wasm, cpu) and says why.
 * - `transcodeVideo(file, { model })` stylises a whole video file, keeping every frame and the sound.
 * - `nst-video/model` has the network and file format without any DOM dependency.
 */
export { BrowserStyleModel, loadStyleModel } from './load-style-model.js';
export type { ImageInput, LoadStyleModelOptions, StyleModelSource } from './load-style-model.js';
export { BROWSER_BACKENDS, selectBackend } from './backend/select-backend.js';
export type { BackendChoice, BackendName, BackendOptions, BackendPreference } from './backend/select-backend.js';
export { ARCHITECTURE_PRESETS, NstModelError, StyleModel, MODEL_FORMAT_NAME, MODEL_FORMAT_VERSION } from './model/index.js';
export type { NstModelErrorCode, RgbaPixels, StyleModelLoadProgress, StyleModelMetadata, StylizeOptions, TransformerArchitecture } from './model/index.js';
export { NstVideoElement } from './element/nst-video-element.js';
export {
  DEFAULT_BACKEND,
  DEFAULT_COLOR_MATCH,
  DEFAULT_COLOR_MATCH_MODE,
  DEFAULT_FACING_MODE,
  DEFAULT_INFERENCE_SIZE,
  DEFAULT_SMOOTHING,
  DEFAULT_STRENGTH,
  DEFAULT_TARGET_FPS,
  NstVideoError,
} from './element/nst-video-events.js';
export type { NstErrorDetail, NstErrorPhase, NstModelLoadDetail, NstModelProgressDetail, NstReadyDetail, NstVideoStats, NstVideoStatus } from './element/nst-video-events.js';
export { NstDeviceLostError, choosePresentation } from './element/gpu-presenter.js';
export type { PresentationApi, PresenterChoice } from './element/gpu-presenter.js';
export { NstClipRecorder } from './media/clip-recorder.js';
export type { ClipFormat, RecordClipOptions } from './media/clip-recorder.js';
export { NstTranscodeCanceledError, NstTranscodeError, transcodeVideo } from './media/transcode-video.js';
export type { NstTranscodeErrorCode, TranscodeFormat, TranscodeProgress, TranscodeVideoOptions } from './media/transcode-video.js';
