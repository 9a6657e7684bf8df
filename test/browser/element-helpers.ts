// Shared by the <nst-video> tests: making elements, waiting for their events, reading their canvas,
// and feeding them frames one at a time through a canvas MediaStream.
import { expect } from 'chai';
import '../../plugin/src/index.js';
import type { NstVideoElement } from '../../plugin/src/index.js';

export const MODEL_URL = '/test/generated/models/slim-7/model.json';
export const WASM_PATHS = '/node_modules/@tensorflow/tfjs-backend-wasm/dist/';
export const CLIP_URL = '/test/generated/clips/testsrc.webm';

/** Makes an <nst-video> with these attributes (wasm paths set), appended to the body. */
export function makeElement(attributes: Record<string, string | boolean>, parent: ParentNode = document.body): NstVideoElement {
  const element = document.createElement('nst-video');
  element.setAttribute('wasm-paths', WASM_PATHS);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === true) element.setAttribute(name, '');
    else if (value !== false) element.setAttribute(name, value);
  }
  parent.append(element);
  return element;
}

/** Resolves with the next `type` event of `target`; rejects after `ms` saying what it waited for. */
export function nextEvent<T extends Event = CustomEvent>(target: EventTarget, type: string, ms = 60000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      target.removeEventListener(type, listener);
      const status = (target as NstVideoElement).status;
      const error = (target as NstVideoElement).error;
      reject(new Error(`No ${type} event within ${ms} ms (status ${status}${error ? `, error: ${error.message}` : ''})`));
    }, ms);
    const listener = (event: Event) => {
      clearTimeout(timer);
      target.removeEventListener(type, listener);
      resolve(event as T);
    };
    target.addEventListener(type, listener);
  });
}

/** Resolves at the `nst-frame` event that makes `element.stats.frames` reach `count` (at once if it has); rejects after `ms`. */
export function frameShown(element: NstVideoElement, count: number, ms = 30000): Promise<void> {
  if (element.stats.frames >= count) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      element.removeEventListener('nst-frame', listener);
      reject(new Error(`<nst-video> did not show frame ${count} within ${ms} ms (status ${element.status}, frames ${element.stats.frames}${element.error ? `, error: ${element.error.message}` : ''})`));
    }, ms);
    const listener = (event: CustomEvent<{ frames: number }>) => {
      if (event.detail.frames < count) return;
      clearTimeout(timer);
      element.removeEventListener('nst-frame', listener);
      resolve();
    };
    element.addEventListener('nst-frame', listener);
  });
}

/** Resolves when `condition()` is true, polling every animation frame; rejects after `ms` with `what`. */
export async function waitFor(condition: () => boolean, what: string, ms = 60000): Promise<void> {
  const start = performance.now();
  while (!condition()) {
    if (performance.now() - start > ms) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The live JS heap, MiB: Chromium's performance.memory after a full collection (flags in web-test-runner.config.mjs). */
export function liveHeapMiB(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  expect(gc, 'gc() (Chromium with --js-flags=--expose-gc)').to.be.a('function');
  gc!();
  const memory = (performance as Performance & { memory?: { usedJSHeapSize: number } }).memory;
  expect(memory, 'performance.memory (Chromium)').to.not.equal(undefined);
  return memory!.usedJSHeapSize / 2 ** 20;
}

/** The element's canvas (the stylised picture). */
export function elementCanvas(element: NstVideoElement): HTMLCanvasElement {
  const canvas = element.shadowRoot?.querySelector('canvas');
  expect(canvas, 'the element shows a canvas').to.be.instanceOf(HTMLCanvasElement);
  return canvas!;
}

/** RGBA pixels of a canvas, image or video, optionally scaled to width x height. */
export function pixelsOf(source: CanvasImageSource & { width?: number; height?: number; videoWidth?: number; videoHeight?: number }, width?: number, height?: number): ImageData {
  const w = width ?? source.videoWidth ?? (source.width as number);
  const h = height ?? source.videoHeight ?? (source.height as number);
  const canvas = document.createElement('canvas');
  [canvas.width, canvas.height] = [w, h];
  const context = canvas.getContext('2d', { willReadFrequently: true })!;
  context.drawImage(source, 0, 0, w, h);
  return context.getImageData(0, 0, w, h);
}

/** Mean |a - b| over the RGB channels, 0..255. */
export function meanAbsDiff(a: ImageData, b: ImageData, mask?: (x: number, y: number) => boolean): number {
  expect([a.width, a.height]).to.deep.equal([b.width, b.height]);
  let sum = 0;
  let count = 0;
  for (let y = 0; y < a.height; y++) {
    for (let x = 0; x < a.width; x++) {
      if (mask && !mask(x, y)) continue;
      const i = (y * a.width + x) * 4;
      sum += Math.abs(a.data[i] - b.data[i]) + Math.abs(a.data[i + 1] - b.data[i + 1]) + Math.abs(a.data[i + 2] - b.data[i + 2]);
      count += 3;
    }
  }
  expect(count, 'pixels compared').to.be.greaterThan(0);
  return sum / count;
}

/** Standard deviation of the RGB values: about 0 for a blank picture. */
export function spread(image: ImageData): number {
  let sum = 0;
  let squares = 0;
  let count = 0;
  for (let i = 0; i < image.data.length; i += 4) {
    for (let c = 0; c < 3; c++) {
      sum += image.data[i + c];
      squares += image.data[i + c] ** 2;
      count++;
    }
  }
  const mean = sum / count;
  return Math.sqrt(squares / count - mean * mean);
}

/** Mean BT.601 chroma of a picture: U = Cb, V = Cr, full range, each 0..1 with 0.5 neutral. */
export function meanChroma(image: ImageData): { u: number; v: number } {
  let u = 0;
  let v = 0;
  const n = image.data.length / 4;
  for (let i = 0; i < image.data.length; i += 4) {
    const [r, g, b] = [image.data[i] / 255, image.data[i + 1] / 255, image.data[i + 2] / 255];
    const y = 0.299 * r + 0.587 * g + 0.114 * b;
    u += 0.5 + (b - y) / 1.772;
    v += 0.5 + (r - y) / 1.402;
  }
  return { u: u / n, v: v / n };
}

/**
 * A MediaStream whose frames the test draws one at a time: `push(draw)` draws a frame, sends it,
 * and resolves once every element given has shown a new stylised frame (stats.frames went up).
 */
export class FrameFeeder {
  readonly canvas = document.createElement('canvas');
  readonly context: CanvasRenderingContext2D;
  readonly stream: MediaStream;
  private readonly _track: CanvasCaptureMediaStreamTrack;

  constructor(width: number, height: number) {
    [this.canvas.width, this.canvas.height] = [width, height];
    this.context = this.canvas.getContext('2d', { willReadFrequently: true })!;
    this.stream = this.canvas.captureStream(0);
    this._track = this.stream.getVideoTracks()[0] as CanvasCaptureMediaStreamTrack;
  }

  /** Draws and sends a frame without waiting for anyone. */
  send(draw: (context: CanvasRenderingContext2D) => void): void {
    draw(this.context);
    this._track.requestFrame();
  }

  /** Draws and sends a frame, then waits until each element has shown a frame made from it. */
  async push(draw: (context: CanvasRenderingContext2D) => void, elements: NstVideoElement[], ms = 30000): Promise<void> {
    const shown = elements.map((element) => frameShown(element, element.stats.frames + 1, ms));
    this.send(draw);
    await Promise.all(shown);
  }

  /** Waits until no element has shown a new frame for `quietMs`: nothing is in flight any more. */
  async settle(elements: NstVideoElement[], quietMs = 300): Promise<void> {
    let last = elements.map((element) => element.stats.frames).join();
    let since = performance.now();
    while (performance.now() - since < quietMs) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      const now = elements.map((element) => element.stats.frames).join();
      if (now !== last) [last, since] = [now, performance.now()];
    }
  }

  stop(): void {
    this._track.stop();
  }
}

/** Deterministic pseudo-random numbers in [0, 1), the model package's mulberry32. */
export { seededRandom as seeded } from '../../plugin/src/model/index.js';
