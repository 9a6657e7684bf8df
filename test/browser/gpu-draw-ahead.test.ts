// Whether the presenter starts the GPU on a frame before the network runs on it
// (TfjsBridge.prepare): only where the GPU can work beside the network. Here the GPU is
// SwiftShader, a software rasteriser on the CPU's cores, and the network runs on wasm: with a
// wasm thread on every core the two would only take turns, so the drawing waits for present();
// with a core to spare it starts at once. Either way the picture is the same.
import { expect } from 'chai';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { loadStyleModel, type BrowserStyleModel } from '../../plugin/src/index.js';
import { probeWebGl } from '../../plugin/src/backend/gpu-probe.js';
import { TfjsBridge } from '../../plugin/src/element/tfjs-bridge.js';
import { MODEL_URL, WASM_PATHS, pixelsOf } from './element-helpers.js';

const [WIDTH, HEIGHT, INFERENCE_SIZE] = [64, 48, 32];
/** Smoothing on, so that the first passes (the motion measure) take part in the second frame. */
const PARAMETERS = { strength: 1, smoothing: 0.5, colorMatch: 0, colorMatchMode: 'luminance' } as const;

/** A still background with a square that moves 6 px a frame. */
async function frameAt(index: number): Promise<ImageBitmap> {
  const canvas = new OffscreenCanvas(WIDTH, HEIGHT);
  const context = canvas.getContext('2d')!;
  const gradient = context.createLinearGradient(0, 0, WIDTH, HEIGHT);
  gradient.addColorStop(0, '#2050a0');
  gradient.addColorStop(1, '#e0c040');
  context.fillStyle = gradient;
  context.fillRect(0, 0, WIDTH, HEIGHT);
  context.fillStyle = '#c02020';
  context.fillRect(8 + 6 * index, 12, 16, 16);
  return createImageBitmap(canvas);
}

/** Runs `cores` as the machine's core count while it draws three frames; the last picture and how often the chain drew ahead. */
async function drawFrames(model: BrowserStyleModel, cores: number): Promise<{ picture: ImageData; drawnAhead: number }> {
  Object.defineProperty(navigator, 'hardwareConcurrency', { value: cores, configurable: true });
  const bridge = await TfjsBridge.create();
  try {
    bridge.presenter.setParameters(PARAMETERS);
    const chain = bridge.presenter.chain;
    const prepare = chain.prepare.bind(chain);
    let drawnAhead = 0;
    chain.prepare = (original) => {
      drawnAhead++;
      prepare(original);
    };
    for (let index = 0; index < 3; index++) {
      const frame = await frameAt(index);
      bridge.prepare(frame);
      await bridge.presenter.present(await bridge.stylize(model, frame, INFERENCE_SIZE), frame);
    }
    return { picture: pixelsOf(bridge.presenter.canvas), drawnAhead };
  } finally {
    bridge.dispose();
    delete (navigator as { hardwareConcurrency?: number }).hardwareConcurrency;
  }
}

describe('the GPU starts on a frame before the network only where it can work beside it', function () {
  let model: BrowserStyleModel;
  before(async () => {
    model = await loadStyleModel(MODEL_URL, { backend: 'wasm', wasmPaths: WASM_PATHS });
  });
  after(() => model.dispose());

  it('software GPU: not beside wasm on every core, at once with a core to spare; the same picture', async function () {
    if (!probeWebGl().software) this.skip(); // a hardware GPU works beside the network anyway
    const threads = getThreadsCount();

    const everyCore = await drawFrames(model, threads);
    const coreToSpare = await drawFrames(model, threads + 1);

    expect(everyCore.drawnAhead, 'frames drawn ahead with wasm on every core').to.equal(0);
    expect(coreToSpare.drawnAhead, 'frames drawn ahead with a core to spare').to.equal(3);
    expect(Array.from(everyCore.picture.data), 'the picture with and without drawing ahead').to.deep.equal(Array.from(coreToSpare.picture.data));
  });
});
