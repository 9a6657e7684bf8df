/**
 * What `<nst-video>` shows and does, derived from what its parts know: its status (and the
 * `status` attribute), the placeholder's text, whether the frame loop runs, and which errors a new
 * source or model ends. Pure functions of one NstVideoState, which the element reads from its
 * controllers and fields in one place, so nothing here is kept in sync by hand.
 */
import type { MediaSourceState } from './media-source-controller.js';
import type { NstErrorPhase, NstVideoError, NstVideoStatus } from './nst-video-events.js';

export interface NstVideoState {
  /** Where frames come from (MediaSourceController): nothing, the camera being opened, or a video; nothing out of the page. */
  readonly source: MediaSourceState;
  /** A style model is loaded (ModelController): frames can be stylised, with it while another loads. */
  readonly modelLoaded: boolean;
  /** A style model, the first or one to replace the loaded one, is on its way (ModelController). */
  readonly modelLoading: boolean;
  /**
   * `paused`: the page paused the element (pause(), no autoplay) or the source paused itself (its
   * end, the page's own `<video>`); `hidden`: not paused, but the page is hidden.
   */
  readonly playback: 'playing' | 'paused' | 'hidden';
  /**
   * A stylised frame of this source, model and renderer is on screen (`nst-ready` fired for them).
   * This is how the GPU shows in the status: a lost device takes the picture with it.
   */
  readonly frameShown: boolean;
  /** The last error, until a new source or model ends it (`errorAfterChange`). */
  readonly error: NstVideoError | null;
}

/**
 * The status: an error wins; then `idle` without a source; `loading` until the camera is open and
 * a model is loaded (and while another replaces it); `paused` when paused or hidden; and
 * `running` once a stylised frame is on screen.
 */
export function nstVideoStatus(state: NstVideoState): NstVideoStatus {
  if (state.error) return 'error';
  if (state.source === 'none') return 'idle';
  if (state.source === 'opening-camera' || state.modelLoading || !state.modelLoaded) return 'loading';
  if (state.playback !== 'playing') return 'paused';
  return state.frameShown ? 'running' : 'loading';
}

/** The placeholder's text: what the element waits for; null while a picture shows (running, or paused on a frame). */
export function nstVideoPlaceholder(state: NstVideoState): string | null {
  const status = nstVideoStatus(state);
  if (status === 'running' || (status === 'paused' && state.frameShown)) return null;
  if (state.error) return state.error.message;
  if (state.source === 'opening-camera') return 'Waiting for the camera…';
  if (state.modelLoading) return 'Loading the style…';
  if (state.source === 'none') return 'No video source (set camera, src or srcObject).';
  if (state.playback === 'paused') return 'Paused';
  return 'Starting…';
}

/** Frames are stylised while the element has a video and a model, plays in a page that shows it, and no error stands. */
export function frameLoopRuns(state: NstVideoState): boolean {
  return state.source === 'video' && state.modelLoaded && state.playback === 'playing' && !state.error;
}

/**
 * The errors each change may cure, so ends: a new source what the camera, the media or a frame
 * (`gpu`: a size the GPU refused, say) failed at; a new model (or backend) what loading or a frame
 * failed at. A model that failed to load stays an error whatever the source.
 */
const ERRORS_ENDED_BY: Record<'source' | 'model', readonly NstErrorPhase[]> = {
  source: ['camera', 'media', 'gpu', 'device-lost'],
  model: ['model', 'gpu'],
};

/** `error` once the source or the model has changed: null where the change ends it. */
export function errorAfterChange(error: NstVideoError | null, change: 'source' | 'model'): NstVideoError | null {
  return error && ERRORS_ENDED_BY[change].includes(error.phase) ? null : error;
}
