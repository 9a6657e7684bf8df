// <nst-video> lifecycle and API: no tensor growth, camera stopped on removal, model and camera
// errors (with recovery), the WebGL backend, pause/play, reset, snapshot, captureStream, switching
// model and source mid-stream, and a lost WebGL context (also one tfjs ran on: the model loads again).
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import { NstVideoElement, loadStyleModel, type NstVideoStats } from '../../plugin/src/index.js';
import { expectedAutoChoice, type AutoChoice } from '../support/auto-choice.js';
import { CLIP_URL, FrameFeeder, MODEL_URL, WASM_PATHS, elementCanvas, makeElement, meanAbsDiff, nextEvent, pixelsOf, seeded, waitFor } from './element-helpers.js';

const [WIDTH, HEIGHT] = [128, 96];

function drawNoisy(random: () => number) {
  return (context: CanvasRenderingContext2D) => {
    context.fillStyle = '#406080';
    context.fillRect(0, 0, WIDTH, HEIGHT);
    context.fillStyle = '#e0a030';
    context.fillRect(30, 20, 50, 40);
    const image = context.getImageData(0, 0, WIDTH, HEIGHT);
    for (let i = 0; i < image.data.length; i++) if (i % 4 !== 3) image.data[i] += Math.round((random() * 2 - 1) * 10);
    context.putImageData(image, 0, 0);
  };
}

describe('<nst-video> lifecycle', function () {
  const elements: NstVideoElement[] = [];
  let feeder: FrameFeeder | undefined;
  let auto: AutoChoice;
  before(async () => (auto = await expectedAutoChoice()));
  afterEach(() => {
    for (const element of elements.splice(0)) element.remove();
    feeder?.stop();
    feeder = undefined;
  });

  function fedElement(attributes: Record<string, string | boolean>): NstVideoElement {
    feeder ??= new FrameFeeder(WIDTH, HEIGHT);
    const element = makeElement({ model: MODEL_URL, autoplay: true, 'inference-size': '32', ...attributes }, document.createElement('div'));
    element.srcObject = feeder.stream;
    document.body.append(element);
    elements.push(element);
    return element;
  }

  it('the number of tfjs tensors does not grow over 300 frames', async function () {
    this.timeout(240000);
    const draw = drawNoisy(seeded(3));
    const element = fedElement({ smoothing: '0.5' });
    feeder!.send(draw);
    await nextEvent(element, 'nst-ready');
    await feeder!.settle([element]);
    const before = tf.memory().numTensors;
    // nst-stats bubbles out of the element (composed) to the document, about once a second.
    const statsEvents: NstVideoStats[] = [];
    const onStats = (event: Event) => statsEvents.push((event as CustomEvent<NstVideoStats>).detail);
    document.addEventListener('nst-stats', onStats);
    // nst-frame: one per frame shown, in order, each with the count so far.
    const framesCounted: number[] = [];
    const onFrame = (event: CustomEvent<NstVideoStats>) => framesCounted.push(event.detail.frames);
    element.addEventListener('nst-frame', onFrame);
    const framesBefore = element.stats.frames;
    const started = performance.now();
    for (let frame = 0; frame < 300; frame++) await feeder!.push(draw, [element]);
    const seconds = (performance.now() - started) / 1000;
    document.removeEventListener('nst-stats', onStats);
    element.removeEventListener('nst-frame', onFrame);
    expect(framesCounted, 'nst-frame counts').to.deep.equal(Array.from({ length: element.stats.frames - framesBefore }, (_, i) => framesBefore + 1 + i));
    expect(statsEvents.length, 'nst-stats events').to.be.within(Math.floor(seconds) - 2, Math.ceil(seconds) + 1);
    const last = statsEvents[statsEvents.length - 1];
    expect(last.fps).to.be.greaterThan(0);
    expect(last.inferenceMs).to.be.greaterThan(0);
    // A GPU backend hands its output to three.js without a readback; wasm cannot.
    expect(last, auto.gpus).to.include({ backend: auto.backend, presentation: auto.presentation, width: WIDTH, height: HEIGHT, zeroCopy: auto.backend !== 'wasm' });
    console.log(`300 frames in ${seconds.toFixed(1)} s (${(300 / seconds).toFixed(1)} frames/s, ${WIDTH}x${HEIGHT}, inference 32 px, ${last.backend}); tensors ${before} -> ${tf.memory().numTensors}`);
    expect(tf.memory().numTensors).to.equal(before);
    expect(element.stats.frames).to.be.at.least(300);
  });

  it('removing the element stops the camera track and disposes the model', async () => {
    const tensorsBefore = tf.memory().numTensors;
    const element = makeElement({ model: MODEL_URL, camera: true, autoplay: true, 'inference-size': '32' });
    await nextEvent(element, 'nst-ready');
    const track = element.mediaStream!.getVideoTracks()[0];
    expect(track.readyState).to.equal('live');
    element.remove();
    expect(track.readyState).to.equal('ended');
    await waitFor(() => tf.memory().numTensors === tensorsBefore, 'the model to be disposed', 5000);
  });

  it('a missing model fires nst-error (phase model); a valid model then recovers', async () => {
    const draw = drawNoisy(seeded(4));
    const element = fedElement({ model: '/test/generated/models/no-such-model/model.json' });
    feeder!.send(draw);
    const failed = await nextEvent<CustomEvent>(element, 'nst-error');
    expect(failed.detail.phase).to.equal('model');
    expect(failed.detail.error.message).to.contain('no-such-model/model.json').and.contain('404');
    expect(element.status).to.equal('error');
    expect(element.error?.phase).to.equal('model');
    const ready = nextEvent(element, 'nst-ready');
    element.model = MODEL_URL;
    feeder!.send(draw);
    await ready;
    expect(element.status).to.equal('running');
    expect(element.error).to.equal(null);
  });

  it('a denied camera fires nst-error (phase camera)', async () => {
    // An iframe whose permissions policy refuses the camera: getUserMedia rejects with NotAllowedError.
    const iframe = document.createElement('iframe');
    iframe.setAttribute('allow', "camera 'none'");
    iframe.srcdoc = '<!doctype html><body></body>';
    const loaded = nextEvent(iframe, 'load', 10000);
    document.body.append(iframe);
    await loaded;
    const element = new NstVideoElement();
    element.setAttribute('model', new URL(MODEL_URL, location.href).href);
    element.setAttribute('camera', '');
    element.setAttribute('autoplay', '');
    const failed = nextEvent<CustomEvent>(element, 'nst-error');
    iframe.contentDocument!.body.append(element);
    const { detail } = await failed;
    expect(detail.phase).to.equal('camera');
    expect(detail.error.message).to.contain('denied');
    expect(element.status).to.equal('error');
    element.remove();
    iframe.remove();
  });

  it('backend="webgl" runs the network on WebGL, sharing the renderer\'s context where WebGL2 presents (no readback), with the same picture as wasm', async function () {
    this.timeout(240000);
    // The same frame every time (no noise), with a top/bottom asymmetry that a flip would show.
    const noisy = drawNoisy(seeded(5));
    const draw = (context: CanvasRenderingContext2D) => {
      noisy(context);
      context.fillStyle = '#20c040';
      context.fillRect(0, 0, WIDTH, 20);
      context.fillStyle = '#f0f0f0';
      context.fillRect(90, 60, 30, 30);
    };
    const still = document.createElement('canvas');
    [still.width, still.height] = [WIDTH, HEIGHT];
    draw(still.getContext('2d')!);
    feeder ??= new FrameFeeder(WIDTH, HEIGHT);
    const same = (context: CanvasRenderingContext2D) => context.drawImage(still, 0, 0);
    feeder.send(same);
    const reference = await loadStyleModel(MODEL_URL, { backend: 'wasm', wasmPaths: WASM_PATHS });
    const expected = pixelsOf(await createImageBitmap(await reference.stylize(feeder.canvas, { size: 32 })), WIDTH, HEIGHT);
    reference.dispose();
    const element = fedElement({ backend: 'webgl', smoothing: '0' });
    const loaded = await nextEvent<CustomEvent>(element, 'nst-model-load', 120000);
    expect(loaded.detail.backend).to.equal('webgl');
    await nextEvent(element, 'nst-ready', 120000);
    await feeder.settle([element]);
    await feeder.push(same, [element], 120000);
    expect(element.stats.backend).to.equal('webgl');
    // Where WebGPU presents (a hardware GPU) a WebGL texture cannot reach it: the frame is read back.
    expect(element.stats.zeroCopy, `tfjs output went to three.js as a texture where WebGL2 presents (${auto.gpus})`).to.equal(auto.presentation === 'webgl2');
    expect(element.status).to.equal('running');
    const difference = meanAbsDiff(pixelsOf(elementCanvas(element)), expected);
    const flipped = document.createElement('canvas');
    [flipped.width, flipped.height] = [WIDTH, HEIGHT];
    const flippedContext = flipped.getContext('2d')!;
    flippedContext.scale(1, -1);
    flippedContext.drawImage(elementCanvas(element), 0, -HEIGHT);
    console.log(`webgl zero-copy vs wasm stylize(): mean |diff| = ${difference.toFixed(2)} (upside down: ${meanAbsDiff(pixelsOf(flipped), expected).toFixed(2)})`);
    expect(difference).to.be.lessThan(1.5);
    expect(meanAbsDiff(pixelsOf(flipped), expected), 'a flipped picture would fail').to.be.greaterThan(5);
  });

  it('pause() stops stylising, play() resumes; reset() clears the temporal history', async () => {
    const random = seeded(6);
    const draw = drawNoisy(random);
    const [raw, smooth] = [fedElement({ smoothing: '0' }), fedElement({ smoothing: '0.9' })];
    feeder!.send(draw);
    await Promise.all([nextEvent(raw, 'nst-ready'), nextEvent(smooth, 'nst-ready')]);
    await feeder!.settle([raw, smooth]);
    for (let i = 0; i < 5; i++) await feeder!.push(draw, [raw, smooth]);
    expect(meanAbsDiff(pixelsOf(elementCanvas(smooth)), pixelsOf(elementCanvas(raw))), 'smoothed differs from per-frame').to.be.greaterThan(1);
    smooth.reset();
    await feeder!.push(draw, [raw, smooth]);
    expect(meanAbsDiff(pixelsOf(elementCanvas(smooth)), pixelsOf(elementCanvas(raw))), 'after reset() the frame is unblended').to.be.lessThan(0.5);

    smooth.pause();
    expect(smooth.paused).to.equal(true);
    expect(smooth.status).to.equal('paused');
    const frames = smooth.stats.frames;
    await feeder!.push(draw, [raw]);
    await feeder!.push(draw, [raw]);
    expect(smooth.stats.frames, 'no frames while paused').to.equal(frames);
    await smooth.play();
    expect(smooth.status).to.equal('running');
    await feeder!.push(draw, [raw, smooth]);

    // A hidden page: the browser says so with visibilitychange (simulated here; headless pages stay visible).
    Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true });
    document.dispatchEvent(new Event('visibilitychange'));
    try {
      expect([raw.status, smooth.status], 'hidden page').to.deep.equal(['paused', 'paused']);
      const hiddenFrames = [raw.stats.frames, smooth.stats.frames];
      feeder!.send(draw);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect([raw.stats.frames, smooth.stats.frames], 'no frames while hidden').to.deep.equal(hiddenFrames);
    } finally {
      delete (document as { visibilityState?: string }).visibilityState;
      document.dispatchEvent(new Event('visibilitychange'));
    }
    expect([raw.status, smooth.status]).to.deep.equal(['running', 'running']);
    await feeder!.push(draw, [raw, smooth]);
  });

  it('snapshot() gives the frame as a PNG at the source resolution; captureStream() a live track', async () => {
    const draw = drawNoisy(seeded(7));
    const element = fedElement({});
    feeder!.send(draw);
    await nextEvent(element, 'nst-ready');
    const blob = await element.snapshot();
    expect(blob.type).to.equal('image/png');
    const bitmap = await createImageBitmap(blob);
    expect([bitmap.width, bitmap.height]).to.deep.equal([WIDTH, HEIGHT]);
    expect(meanAbsDiff(pixelsOf(bitmap), pixelsOf(elementCanvas(element)))).to.be.lessThan(0.5);
    const stream = element.captureStream(15);
    const [track] = stream.getVideoTracks();
    expect(track.readyState).to.equal('live');
    track.stop();
  });

  it('switching the model and the source mid-stream', async () => {
    const draw = drawNoisy(seeded(8));
    const element = fedElement({});
    feeder!.send(draw);
    await nextEvent(element, 'nst-ready');
    const tensors = tf.memory().numTensors;
    // Another URL of the same model: a new load, and the old weights go once no frame uses them.
    const reloaded = nextEvent<CustomEvent>(element, 'nst-model-load');
    const readyAgain = nextEvent(element, 'nst-ready');
    element.model = `${MODEL_URL}?copy=2`;
    await reloaded;
    feeder!.send(draw);
    await readyAgain;
    await waitFor(() => tf.memory().numTensors === tensors, 'the old model to be disposed', 5000);
    // A file instead of the stream.
    const fromFile = nextEvent<CustomEvent>(element, 'nst-ready');
    element.srcObject = null;
    element.src = CLIP_URL;
    element.loop = true;
    expect((await fromFile).detail).to.include({ width: 320, height: 240 });
    expect(element.status).to.equal('running');
  });

  it('a lost WebGL context fires nst-error (phase device-lost) and the element starts again', async function () {
    // Only a WebGL2 presentation has a context to lose; losing a WebGPU device is not tested here.
    if (auto.presentation !== 'webgl2') this.skip();
    const draw = drawNoisy(seeded(9));
    const element = fedElement({});
    feeder!.send(draw);
    await nextEvent(element, 'nst-ready');
    const lost = nextEvent<CustomEvent>(element, 'nst-error');
    elementCanvas(element).getContext('webgl2')!.getExtension('WEBGL_lose_context')!.loseContext();
    expect((await lost).detail.phase).to.equal('device-lost');
    const ready = nextEvent(element, 'nst-ready');
    feeder!.send(draw);
    await ready;
    expect(element.status).to.equal('running');
    expect(spreadOf(elementCanvas(element))).to.be.greaterThan(5);
  });

  it('a lost WebGL context that tfjs shared (backend="webgl") takes the model\'s weights with it: the model loads again and the element starts again', async function () {
    this.timeout(240000);
    if (auto.presentation !== 'webgl2') this.skip();
    const draw = drawNoisy(seeded(10));
    const element = fedElement({ backend: 'webgl' });
    feeder!.send(draw);
    await nextEvent(element, 'nst-ready', 120000);
    expect(element.stats.zeroCopy, 'tfjs runs on the renderer\'s context').to.equal(true);
    const lost = nextEvent<CustomEvent>(element, 'nst-error');
    const reloaded = nextEvent<CustomEvent>(element, 'nst-model-load', 120000);
    elementCanvas(element).getContext('webgl2')!.getExtension('WEBGL_lose_context')!.loseContext();
    expect((await lost).detail.phase).to.equal('device-lost');
    expect((await reloaded).detail.backend).to.equal('webgl');
    const ready = nextEvent(element, 'nst-ready', 120000);
    feeder!.send(draw);
    await ready;
    await feeder!.push(draw, [element], 120000);
    expect(element.status).to.equal('running');
    expect(element.stats.zeroCopy, 'tfjs shares the new renderer\'s context').to.equal(true);
    expect(spreadOf(elementCanvas(element))).to.be.greaterThan(5);
  });
});

function spreadOf(canvas: HTMLCanvasElement): number {
  const { data } = pixelsOf(canvas);
  let min = 255;
  let max = 0;
  for (let i = 0; i < data.length; i += 4) [min, max] = [Math.min(min, data[i]), Math.max(max, data[i])];
  return max - min;
}
