// An offline frame is the element's live frame: transcodeVideo() and <nst-video> run the same
// network step and NstStylizeChain, so for the same input frame and settings they draw the same
// picture. The input is a still clip (every frame decodes alike, so whichever frame the element
// shows is the transcode's first); the transcode's frame is read in onFrame, before the encoder.
import { expect } from 'chai';
import { transcodeVideo } from '../../plugin/src/index.js';
import type { NstVideoElement } from '../../plugin/src/index.js';
import { MODEL_URL, WASM_PATHS, elementCanvas, makeElement, meanAbsDiff, nextEvent, pixelsOf, waitFor } from './element-helpers.js';

const CLIP = '/test/generated/clips/still-bars.mp4';
/** Settings away from every default, so each pass of the chain takes part; smoothing 0 keeps no history. */
const SETTINGS = { inferenceSize: 64, strength: 0.8, smoothing: 0, colorMatch: 0.5, colorMatchMode: 'luminance' } as const;
/**
 * The largest |offline - live| allowed at any pixel channel, 0..255: one level, for a GPU that
 * rounds the chain's output differently between two canvases (the same code runs on both sides,
 * and here, wasm + SwiftShader, the pictures are equal). The clip is tagged BT.709: untagged, the
 * two decoders read its colours differently (see video-probe.ts), before any of our code runs.
 */
const MAX_PIXEL_DIFFERENCE = 1;

function maxAbsDiff(a: ImageData, b: ImageData): number {
  let max = 0;
  for (let i = 0; i < a.data.length; i += 4) {
    for (let c = 0; c < 3; c++) max = Math.max(max, Math.abs(a.data[i + c] - b.data[i + c]));
  }
  return max;
}

describe('transcodeVideo and <nst-video> draw the same frame', function () {
  let element: NstVideoElement | undefined;
  afterEach(() => element?.remove());

  it('same clip, model, inference size, strength, smoothing 0 and colour match: the same pixels', async () => {
    let offline: ImageData | undefined;
    await transcodeVideo(CLIP, {
      model: MODEL_URL,
      backend: 'wasm',
      wasmPaths: WASM_PATHS,
      ...SETTINGS,
      onFrame: (canvas) => void (offline ??= pixelsOf(canvas)),
    });
    expect(offline, 'onFrame saw the first frame').to.not.equal(undefined);

    element = makeElement({
      model: MODEL_URL, backend: 'wasm', src: CLIP, autoplay: true, muted: true, loop: true,
      'inference-size': String(SETTINGS.inferenceSize), 'target-fps': '0', strength: String(SETTINGS.strength),
      smoothing: String(SETTINGS.smoothing), 'color-match': String(SETTINGS.colorMatch), 'color-match-mode': SETTINGS.colorMatchMode,
    });
    await nextEvent(element, 'nst-ready');
    await waitFor(() => element!.stats.frames >= 2, 'the element to show two frames');
    const live = pixelsOf(elementCanvas(element));
    expect(element.stats.inferenceSize, 'the element ran at the inference size asked for').to.equal(SETTINGS.inferenceSize);

    const mean = meanAbsDiff(offline!, live);
    const max = maxAbsDiff(offline!, live);
    console.log(`offline vs live frame (${live.width}x${live.height}, inference ${SETTINGS.inferenceSize} px): mean |difference| ${mean.toFixed(3)}/255, max ${max}/255 (tolerance ${MAX_PIXEL_DIFFERENCE})`);
    expect(max, 'max |offline - live| at any pixel channel').to.be.at.most(MAX_PIXEL_DIFFERENCE);
  });
});
