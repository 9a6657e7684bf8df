// <nst-video> from each source: camera (fake camera fed by camera.y4m), src, srcObject, a slotted
// <video>. Each must reach `running`, fire nst-ready, and show stylised frames.
import { expect } from 'chai';
import { loadStyleModel, type NstVideoElement } from '../../plugin/src/index.js';
import { expectedAutoChoice, type AutoChoice } from '../support/auto-choice.js';
import { CLIP_URL, FrameFeeder, MODEL_URL, WASM_PATHS, elementCanvas, makeElement, meanAbsDiff, nextEvent, pixelsOf, spread } from './element-helpers.js';

const COMMON = { model: MODEL_URL, autoplay: true, muted: true, 'inference-size': '64', smoothing: '0' };

describe('<nst-video> sources', function () {
  let element: NstVideoElement | undefined;
  let auto: AutoChoice;
  before(async () => (auto = await expectedAutoChoice()));
  afterEach(() => element?.remove());

  async function expectRunning(el: NstVideoElement, width: number, height: number): Promise<void> {
    const ready = await nextEvent<CustomEvent>(el, 'nst-ready');
    expect(ready.detail, auto.gpus).to.include({ width, height, backend: auto.backend, presentation: auto.presentation });
    expect(el.status).to.equal('running');
    expect(el.getAttribute('status')).to.equal('running');
    expect(el.paused).to.equal(false);
    const canvas = elementCanvas(el);
    expect([canvas.width, canvas.height], 'output at the source resolution').to.deep.equal([width, height]);
    const shown = pixelsOf(canvas);
    expect(spread(shown), 'the canvas is not blank').to.be.greaterThan(10);
    const stats = el.stats;
    expect(stats, auto.gpus).to.include({ backend: auto.backend, presentation: auto.presentation, width, height });
    expect(Math.min(stats.inferenceWidth, stats.inferenceHeight)).to.equal(64);
  }

  it('camera: stylises the (fake) camera', async () => {
    element = makeElement({ ...COMMON, camera: true });
    await expectRunning(element, 320, 240);
    const video = element.shadowRoot!.querySelector('video')!;
    expect(meanAbsDiff(pixelsOf(elementCanvas(element)), pixelsOf(video)), 'output differs from the camera frame').to.be.greaterThan(20);
  });

  it('without a model: the package\'s default style, with nst-model-progress as it downloads', async () => {
    const { model: _, ...withoutModel } = COMMON;
    element = makeElement({ ...withoutModel, camera: true }, document.createElement('div'));
    const progress: { url: string; loadedBytes: number; totalBytes: number }[] = [];
    element.addEventListener('nst-model-progress', (event) => progress.push(event.detail));
    const loaded = nextEvent<CustomEvent>(element, 'nst-model-load');
    document.body.append(element);
    expect((await loaded).detail.url).to.match(/\/models\/default\/model\.json$/);
    expect(progress.length, 'nst-model-progress fired').to.be.greaterThan(1);
    expect(progress[0]).to.include({ loadedBytes: 0 });
    const last = progress.at(-1)!;
    expect(last.totalBytes).to.be.greaterThan(0);
    expect(last).to.deep.equal({ url: (await loaded).detail.url, loadedBytes: last.totalBytes, totalBytes: last.totalBytes });
    await expectRunning(element, 320, 240);
  });

  it('src: stylises a video file', async () => {
    element = makeElement({ ...COMMON, src: CLIP_URL, loop: true });
    await expectRunning(element, 320, 240);
  });

  it('src: stylises a blob: URL played once its metadata is in', async () => {
    // A blob: URL has the whole file at once: the video is at HAVE_ENOUGH_DATA by loadedmetadata,
    // before its first frame is decoded, and capturing that frame threw ("The image source is not usable").
    const url = URL.createObjectURL(await (await fetch(CLIP_URL)).blob());
    try {
      element = makeElement({ ...COMMON, autoplay: false });
      await nextEvent(element, 'nst-model-load');
      const metadata = nextEvent(element, 'loadedmetadata');
      element.src = url;
      await metadata;
      const running = expectRunning(element, 320, 240);
      await element.play();
      await running;
    } finally {
      URL.revokeObjectURL(url);
    }
  });

  it('srcObject: shows the network output for the frame it was given, not the input', async () => {
    const feeder = new FrameFeeder(160, 96);
    const draw = (context: CanvasRenderingContext2D) => {
      const gradient = context.createLinearGradient(0, 0, 160, 96);
      gradient.addColorStop(0, '#2050d0');
      gradient.addColorStop(1, '#f0c040');
      context.fillStyle = gradient;
      context.fillRect(0, 0, 160, 96);
      context.fillStyle = '#c02020';
      context.fillRect(40, 20, 50, 40);
    };
    feeder.send(draw);
    element = makeElement({ ...COMMON, strength: '1', 'color-match': '0' }, document.createElement('div'));
    element.srcObject = feeder.stream;
    document.body.append(element);
    const ready = nextEvent(element, 'nst-ready');
    await feeder.push(draw, [element]);
    await ready;
    expect(element.status).to.equal('running');
    // The same model through the plain image API, at the same inference size, as the reference.
    const model = await loadStyleModel(MODEL_URL, { backend: 'wasm', wasmPaths: WASM_PATHS });
    const reference = await model.stylize(feeder.canvas, { size: 64 });
    model.dispose();
    const bitmap = await createImageBitmap(reference);
    const expected = pixelsOf(bitmap, 160, 96);
    const shown = pixelsOf(elementCanvas(element));
    const input = pixelsOf(feeder.canvas);
    const fromStyled = meanAbsDiff(shown, expected);
    const fromInput = meanAbsDiff(shown, input);
    console.log(`srcObject: mean |shown - stylize()| = ${fromStyled.toFixed(2)}, mean |shown - input| = ${fromInput.toFixed(2)}`);
    expect(fromStyled, 'shown frame matches stylize() of the same frame').to.be.lessThan(6);
    expect(fromInput, 'shown frame is not the input').to.be.greaterThan(20);
    feeder.stop();
  });

  it('slot: stylises the page\'s own <video>', async () => {
    element = makeElement({ ...COMMON, autoplay: false }, document.createElement('div'));
    const video = document.createElement('video');
    Object.assign(video, { muted: true, loop: true, autoplay: true, src: CLIP_URL });
    video.slot = 'media';
    element.append(video);
    document.body.append(element);
    await expectRunning(element, 320, 240);
  });
});
