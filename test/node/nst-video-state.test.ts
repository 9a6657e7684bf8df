// <nst-video>'s derived state (nst-video-state.ts), as a table: for each state of its parts (the
// source, the model, playback, the picture, an error), the status a page reads, the placeholder it
// sees and whether frames are stylised; and which errors a new source or model ends.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NstVideoError, type NstErrorPhase, type NstVideoStatus } from '../../plugin/src/element/nst-video-events.js';
import { errorAfterChange, frameLoopRuns, nstVideoPlaceholder, nstVideoStatus, type NstVideoState } from '../../plugin/src/element/nst-video-state.js';

/** An element playing a video with a loaded model and a frame on screen: `running`. */
const RUNNING: NstVideoState = {
  source: 'video',
  modelLoaded: true,
  modelLoading: false,
  playback: 'playing',
  frameShown: true,
  error: null,
};

const cameraDenied = new NstVideoError('camera', 'Camera access was denied.');

const TABLE: { state: Partial<NstVideoState>; status: NstVideoStatus; placeholder: string | null; loopRuns: boolean }[] = [
  { state: {}, status: 'running', placeholder: null, loopRuns: true },
  // No source: idle, whatever the model does.
  { state: { source: 'none', modelLoaded: false, frameShown: false }, status: 'idle', placeholder: 'No video source (set camera, src or srcObject).', loopRuns: false },
  { state: { source: 'none', modelLoaded: false, modelLoading: true, frameShown: false }, status: 'idle', placeholder: 'Loading the style…', loopRuns: false },
  // Loading: the camera's permission prompt, the first model, a model replacing the loaded one, the first frame.
  { state: { source: 'opening-camera', frameShown: false }, status: 'loading', placeholder: 'Waiting for the camera…', loopRuns: false },
  { state: { modelLoaded: false, modelLoading: true, frameShown: false }, status: 'loading', placeholder: 'Loading the style…', loopRuns: false },
  { state: { modelLoading: true }, status: 'loading', placeholder: 'Loading the style…', loopRuns: true },
  { state: { modelLoaded: false, frameShown: false }, status: 'loading', placeholder: 'Starting…', loopRuns: false },
  { state: { frameShown: false }, status: 'loading', placeholder: 'Starting…', loopRuns: true },
  { state: { playback: 'hidden', frameShown: false }, status: 'paused', placeholder: 'Starting…', loopRuns: false },
  // Paused (by the page, or hidden): the last frame stays, else a placeholder says so.
  { state: { playback: 'paused' }, status: 'paused', placeholder: null, loopRuns: false },
  { state: { playback: 'paused', frameShown: false }, status: 'paused', placeholder: 'Paused', loopRuns: false },
  { state: { playback: 'hidden' }, status: 'paused', placeholder: null, loopRuns: false },
  { state: { source: 'opening-camera', playback: 'paused', frameShown: false }, status: 'loading', placeholder: 'Waiting for the camera…', loopRuns: false },
  // An error wins over everything, and stops the frames.
  { state: { error: cameraDenied }, status: 'error', placeholder: 'Camera access was denied.', loopRuns: false },
  { state: { error: cameraDenied, source: 'none', frameShown: false }, status: 'error', placeholder: 'Camera access was denied.', loopRuns: false },
];

describe('<nst-video> state', () => {
  for (const { state, status, placeholder, loopRuns } of TABLE) {
    it(`${JSON.stringify(state, (key, value) => (key === 'error' && value ? value.phase : value))}: ${status}, placeholder ${JSON.stringify(placeholder)}, frames ${loopRuns ? 'run' : 'stop'}`, () => {
      const full = { ...RUNNING, ...state };
      assert.equal(nstVideoStatus(full), status);
      assert.equal(nstVideoPlaceholder(full), placeholder);
      assert.equal(frameLoopRuns(full), loopRuns);
    });
  }

  it('a new source ends camera, media and frame (gpu) errors; a new model ends model and frame errors', () => {
    const endedBy = (change: 'source' | 'model') =>
      (['camera', 'media', 'gpu', 'model', 'device-lost'] as NstErrorPhase[]).filter((phase) => errorAfterChange(new NstVideoError(phase, phase), change) === null);
    assert.deepEqual(endedBy('source'), ['camera', 'media', 'gpu', 'device-lost']);
    assert.deepEqual(endedBy('model'), ['gpu', 'model']);
    assert.equal(errorAfterChange(cameraDenied, 'model'), cameraDenied, 'an error that stays is the same error');
    assert.equal(errorAfterChange(null, 'source'), null);
  });
});
