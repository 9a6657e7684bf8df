/**
 * Runs in headless Chromium (driven by bench/element.bench.ts): frames per second of <nst-video>
 * on one tfjs backend at one source resolution, next to the plain per-frame loop with the same
 * model (fromPixels -> predict -> toPixels to a canvas) in the same page. Both get their frames the
 * same way: a MediaStream of a canvas that sends the next frame once the last one is shown, played
 * by a <video>, each frame stylised in the video's frame callback.
 */
import * as tf from '@tensorflow/tfjs-core';
import '../../plugin/src/index.js';
import { loadStyleModel, type BackendName, type BrowserStyleModel, type NstVideoElement, type NstVideoStats } from '../../plugin/src/index.js';

export interface ElementBenchRequest {
  backend: BackendName;
  width: number;
  height: number;
  /** Short side of the network input; default the source's (full resolution). */
  inferenceSize?: number;
  /** How long each of the two loops is timed, after a warm-up frame. */
  seconds: number;
  /** Skip when one frame is estimated to take longer (software GPU backends here). */
  maxFrameMs: number;
  modelUrl: string;
  wasmPaths: string;
}

/** A moving test picture, different each frame. */
function drawFrame(context: CanvasRenderingContext2D, width: number, height: number, frame: number): void {
  const gradient = context.createLinearGradient(0, 0, width, height);
  gradient.addColorStop(0, `hsl(${(frame * 7) % 360} 70% 45%)`);
  gradient.addColorStop(1, `hsl(${(frame * 7 + 180) % 360} 70% 55%)`);
  context.fillStyle = gradient;
  context.fillRect(0, 0, width, height);
  context.fillStyle = '#fff';
  context.fillRect((frame * 9) % width, height / 3, width / 6, height / 3);
}

/** fromPixels -> predict -> toPixels; with `size`, the frame is first resized to that short side. */
async function plainFrame(model: BrowserStyleModel, source: HTMLCanvasElement | HTMLVideoElement, target: HTMLCanvasElement, size?: number): Promise<void> {
  const picture = tf.tidy(() => {
    const pixels = tf.browser.fromPixels(source, 3);
    const styled = size === undefined ? tf.squeeze(model.predict(tf.expandDims(tf.cast(pixels, 'float32'), 0) as tf.Tensor4D), [0]) : model.stylizeTensor(pixels, { size });
    return tf.clipByValue(tf.div(styled, 255), 0, 1) as tf.Tensor3D;
  });
  await tf.browser.toPixels(picture, target);
  picture.dispose();
}

/**
 * The source canvas as a MediaStream that sends a frame only when asked (captureStream(0)): the
 * next frame goes out once the last one is shown, so that neither loop ever has two in flight.
 */
class FrameFeed {
  readonly stream: MediaStream;
  private readonly _track: CanvasCaptureMediaStreamTrack;

  constructor(canvas: HTMLCanvasElement) {
    this.stream = canvas.captureStream(0);
    this._track = this.stream.getVideoTracks()[0] as CanvasCaptureMediaStreamTrack;
  }

  send(): void {
    this._track.requestFrame();
  }

  /**
   * Sends a frame (drawn by `draw` first) every 250 ms until `shown` settles: a frame sent before
   * the video that plays the stream is playing is lost, and the stream sends nothing by itself.
   */
  async sendUntil<T>(shown: Promise<T>, draw: () => void): Promise<T> {
    const keepSending = setInterval(() => {
      draw();
      this.send();
    }, 250);
    try {
      return await shown;
    } finally {
      clearInterval(keepSending);
    }
  }

  stop(): void {
    this._track.stop();
  }
}

/** Resolves in `video`'s next frame callback, inside the rendering step that shows what it draws. */
function nextVideoFrame(video: HTMLVideoElement): Promise<void> {
  return new Promise((resolve) => video.requestVideoFrameCallback(() => resolve()));
}

async function runElementBench(request: ElementBenchRequest): Promise<Record<string, unknown>> {
  const { backend, width, height, seconds } = request;
  const size = request.inferenceSize !== undefined && request.inferenceSize < Math.min(width, height) ? request.inferenceSize : undefined;
  const networkPixels = size === undefined ? width * height : (size * size * Math.max(width, height)) / Math.min(width, height);
  const source = document.createElement('canvas');
  [source.width, source.height] = [width, height];
  const context = source.getContext('2d')!;
  let frame = 0;
  drawFrame(context, width, height, frame++);

  // The plain loop, after two small probes (64x48, 128x96) that estimate the time of a frame as
  // fixed cost + cost per pixel, to skip what would take minutes.
  const model = await loadStyleModel(request.modelUrl, { backend, wasmPaths: request.wasmPaths });
  // On the page, as an app would show its frames and as the element's canvas is: headless
  // Chromium on a software GPU reads a visible WebGL canvas back for every composited frame
  // (~200 ms at 640x480), so a loop drawing off-page would not pay what showing a frame costs.
  const target = document.createElement('canvas');
  document.body.append(target);
  const probeMs: number[] = [];
  for (const [w, h] of [[64, 48], [128, 96]]) {
    const probe = document.createElement('canvas');
    [probe.width, probe.height] = [w, h];
    probe.getContext('2d')!.drawImage(source, 0, 0, w, h);
    await plainFrame(model, probe, target); // compiles shaders / warms up
    const t0 = performance.now();
    await plainFrame(model, probe, target);
    probeMs.push(performance.now() - t0);
  }
  const perPixel = Math.max(0, (probeMs[1] - probeMs[0]) / (128 * 96 - 64 * 48));
  const estimateMs = probeMs[0] + perPixel * (networkPixels - 64 * 48);
  let started = 0;
  const row = { backend: model.backend.backend, software: model.backend.software, width, height, inference_short_side: size ?? Math.min(width, height) };
  if (estimateMs > request.maxFrameMs) {
    model.dispose();
    target.remove();
    return { ...row, skipped: `estimated ${(estimateMs / 1000).toFixed(0)} s per frame` };
  }
  // Its frames come as the element's do (a <video> playing the canvas's stream), and each is
  // stylised in the video's frame callback, so that the page shows it when that rendering step
  // ends. Read straight from the canvas, each frame skipped the stream's delivery (~10 ms here),
  // which the element pays; and as every await in plainFrame() resolves at once on wasm, the
  // whole timed loop was one task in which the page showed none of its frames.
  const plainFeed = new FrameFeed(source);
  // Hidden, as the element's source video is.
  const video = Object.assign(document.createElement('video'), { muted: true, playsInline: true, srcObject: plainFeed.stream });
  video.style.display = 'none';
  document.body.append(video);
  // play() resolves only once a frame has come, and the stream sends one only when asked.
  await plainFeed.sendUntil(Promise.all([video.play(), nextVideoFrame(video)]), () => drawFrame(context, width, height, frame++));
  await plainFrame(model, video, target, size);
  let plainFrames = 0;
  let plainWorkMs = 0;
  started = performance.now();
  while (plainFrames < 3 || performance.now() - started < seconds * 1000) {
    drawFrame(context, width, height, frame++);
    const arrived = nextVideoFrame(video);
    plainFeed.send();
    await arrived;
    const workStarted = performance.now();
    await plainFrame(model, video, target, size);
    plainWorkMs += performance.now() - workStarted;
    // As for the element: the next frame goes out once this one is on screen, after this rendering step.
    await new Promise((resolve) => setTimeout(resolve, 1));
    plainFrames++;
  }
  const plainFps = (plainFrames * 1000) / (performance.now() - started);
  // Capture to pixels on the canvas, the plain loop's counterpart of the element's inference time.
  const plainWorkPerFrameMs = plainWorkMs / plainFrames;
  plainFeed.stop();
  video.remove();
  model.dispose();
  target.remove();

  // The element, fed one frame whenever it has shown the last.
  const feed = new FrameFeed(source);
  const element = document.createElement('nst-video') as NstVideoElement;
  // targetFps 0: the network stays at the plain loop's size however slow the frames are.
  Object.assign(element, { backend, wasmPaths: request.wasmPaths, inferenceSize: size ?? Math.min(width, height), targetFps: 0, smoothing: 0.5, autoplay: true, muted: true, model: request.modelUrl });
  element.srcObject = feed.stream;
  document.body.append(element);
  // The first frame also compiles every shader on the renderer's context (minutes on SwiftShader).
  // Waits for the element's nst-frame event, as the plain loop waits for the video's frame
  // callback: polling with timers would add up to 4 ms a frame (nested timeouts are clamped).
  const shown = (count: number, timeoutMs = Math.max(60_000, estimateMs * 4)) =>
    new Promise<void>((resolve, reject) => {
      if (element.stats.frames >= count) return resolve();
      const finish = (error?: Error) => {
        clearTimeout(timer);
        element.removeEventListener('nst-frame', onFrame);
        element.removeEventListener('nst-error', onError);
        if (error) reject(error);
        else resolve();
      };
      const onFrame = (event: CustomEvent<NstVideoStats>) => {
        if (event.detail.frames >= count) finish();
      };
      const onError = (event: CustomEvent<{ error: Error }>) => finish(event.detail.error);
      const timer = setTimeout(() => {
        const video = element.shadowRoot?.querySelector('video');
        finish(new Error(`<nst-video> showed no frame within ${(timeoutMs / 1000).toFixed(0)} s (status ${element.status}, paused ${element.paused}, video readyState ${video?.readyState}, tfjs backend ${tf.getBackend()}, stats ${JSON.stringify(element.stats)})`));
      }, timeoutMs);
      element.addEventListener('nst-frame', onFrame);
      element.addEventListener('nst-error', onError);
    });
  try {
    await feed.sendUntil(shown(1, 300_000), () => drawFrame(context, width, height, frame++));
    await new Promise((resolve) => setTimeout(resolve, 500));
    let before = element.stats.frames;
    started = performance.now();
    let elementFrames = 0;
    while (elementFrames < 3 || performance.now() - started < seconds * 1000) {
      drawFrame(context, width, height, frame++);
      feed.send();
      await shown(before + 1);
      before = element.stats.frames;
      elementFrames++;
    }
    const elementFps = (elementFrames * 1000) / (performance.now() - started);
    const stats = element.stats;
    return {
      ...row,
      presentation: stats.presentation,
      zero_copy: stats.zeroCopy,
      element_fps: elementFps,
      element_inference_ms: stats.inferenceMs,
      // What a frame costs besides that: the source's delivery, drawing and showing it.
      element_other_ms: 1000 / elementFps - stats.inferenceMs,
      estimated_frame_ms: estimateMs,
      plain_fps: plainFps,
      plain_frame_work_ms: plainWorkPerFrameMs,
      plain_other_ms: 1000 / plainFps - plainWorkPerFrameMs,
      element_vs_plain: elementFps / plainFps,
    };
  } finally {
    element.remove();
    feed.stop();
  }
}

Object.assign(globalThis, { runElementBench });
