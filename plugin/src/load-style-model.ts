/**
 * Loading a style model in the browser, from a URL or from files the user picked, and
 * stylising images with it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { MODEL_JSON_FILE, NstModelError, StyleModel, readStyleModel, type DecodedStyleModel, type StyleModelFiles, type StyleModelLoadProgress, type StylizeOptions } from './model/index.js';
import { concatBytes } from './model/weights-format.js';
import { selectBackend, type BackendChoice, type BackendOptions } from './backend/select-backend.js';
import { defaultStyleModelFileUrl } from './default-style-model.js';

/** Where a model comes from: the URL of model.json (or of its folder), the files of a model, or a custom reader. */
export type StyleModelSource = string | URL | FileList | readonly File[] | StyleModelFiles;

export interface LoadStyleModelOptions extends BackendOptions {
  /** Aborts the download. */
  signal?: AbortSignal;
  /**
   * Told how much of the weights has arrived: 0 bytes once model.json is read, then as the shards
   * download, last with `loadedBytes === totalBytes`.
   */
  onProgress?: (progress: StyleModelLoadProgress) => void;
}

/** Anything the browser can draw: <img>, <canvas>, <video>, ImageBitmap, ImageData, VideoFrame. */
export type ImageInput = HTMLImageElement | HTMLCanvasElement | HTMLVideoElement | ImageBitmap | ImageData | OffscreenCanvas | VideoFrame;

/** A style model on the chosen tfjs backend, with browser image input and output. */
export class BrowserStyleModel extends StyleModel {
  constructor(
    decoded: DecodedStyleModel,
    /** Which tfjs backend runs the network, and why it was chosen. */
    readonly backend: BackendChoice,
  ) {
    super(decoded);
  }

  /**
   * Stylises an image. The result's short side is `options.size` px (default: the image's own).
   * Resolves with ImageData, ready for `putImageData` or `createImageBitmap`.
   */
  async stylize(image: ImageInput, options: StylizeOptions = {}): Promise<ImageData> {
    const pixels = await readPixels(image);
    const rgb = tf.tidy(() => this.stylizeTensor(pixels, options));
    pixels.dispose();
    const { data, width, height } = await this.toRgbaPixels(rgb);
    return new ImageData(data as Uint8ClampedArray<ArrayBuffer>, width, height);
  }
}

/**
 * Downloads (or reads), validates and uploads a style model; without a source (`undefined`), the
 * package's default style. Picks the tfjs backend first (see `selectBackend`). Rejects with
 * `NstModelError` naming the problem: a 404, unreadable JSON, an unknown format version, a
 * missing/extra/mis-shaped weight, a truncated or corrupt shard.
 */
export async function loadStyleModel(source?: StyleModelSource, options: LoadStyleModelOptions = {}): Promise<BrowserStyleModel> {
  const files = toModelFiles(source, options.signal);
  const decoded = await readStyleModel(files, { onProgress: options.onProgress });
  const backend = await selectBackend(options);
  return new BrowserStyleModel(decoded, backend);
}

async function readPixels(image: ImageInput): Promise<tf.Tensor3D> {
  // tfjs reads neither VideoFrame nor OffscreenCanvas; it reads an <img> at its layout size
  // (img.width), not its natural size; and WebGPU under SwiftShader cannot import <video> frames
  // either. An ImageBitmap avoids all three.
  const needsBitmap =
    image instanceof HTMLImageElement ||
    (typeof VideoFrame !== 'undefined' && image instanceof VideoFrame) ||
    (typeof OffscreenCanvas !== 'undefined' && image instanceof OffscreenCanvas) ||
    (tf.getBackend() === 'webgpu' && image instanceof HTMLVideoElement);
  if (needsBitmap) {
    const bitmap = await createImageBitmap(image);
    try {
      return tf.browser.fromPixels(bitmap, 3);
    } finally {
      bitmap.close();
    }
  }
  return tf.browser.fromPixels(image as Exclude<ImageInput, VideoFrame | OffscreenCanvas>, 3);
}

function toModelFiles(source: StyleModelSource | undefined, signal?: AbortSignal): StyleModelFiles {
  if (source === undefined) return urlModelFiles(defaultStyleModelFileUrl(MODEL_JSON_FILE), defaultStyleModelFileUrl, signal);
  if (typeof source === 'string' || source instanceof URL) return urlModelFiles(modelJsonUrl(source), (path, json) => new URL(path, json), signal);
  if (isModelFiles(source)) return source;
  return pickedModelFiles(Array.from(source as ArrayLike<File>));
}

function isModelFiles(source: object): source is StyleModelFiles {
  return typeof (source as StyleModelFiles).readModelJson === 'function';
}

/** The URL of model.json, given it or its folder (relative to the page). */
function modelJsonUrl(source: string | URL): URL {
  const base = typeof location !== 'undefined' ? location.href : undefined;
  const url = new URL(String(source), base);
  return url.pathname.endsWith('.json') ? url : new URL(url.pathname.replace(/\/?$/, `/${MODEL_JSON_FILE}`) + url.search, url);
}

/** A model over HTTP: model.json at `url`, each shard at `shardUrl(path, url)`. */
function urlModelFiles(url: URL, shardUrl: (path: string, modelJson: URL) => URL, signal?: AbortSignal): StyleModelFiles {
  const get = async (target: URL) => {
    let response: Response;
    try {
      response = await fetch(target, { signal });
    } catch (error) {
      throw new NstModelError('fetch-failed', `${target}: could not be downloaded (${(error as Error).message}). Check the URL and your connection.`, { cause: error });
    }
    if (!response.ok) {
      throw new NstModelError('fetch-failed', `${target}: the server answered HTTP ${response.status} ${response.statusText}. Check the model URL.`);
    }
    return response;
  };
  return {
    label: url.href,
    readModelJson: async () => (await get(url)).text(),
    readShard: async (path, onBytes) => readBody(await get(shardUrl(path, url)), onBytes),
  };
}

/** The response's bytes, counted to `onBytes` as they arrive where it is given. */
async function readBody(response: Response, onBytes?: (bytesSoFar: number) => void): Promise<Uint8Array> {
  if (!onBytes || !response.body) return new Uint8Array(await response.arrayBuffer());
  const chunks: Uint8Array[] = [];
  let bytesSoFar = 0;
  const reader = response.body.getReader();
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    chunks.push(chunk.value);
    bytesSoFar += chunk.value.length;
    onBytes(bytesSoFar);
  }
  return concatBytes(chunks);
}

function pickedModelFiles(files: File[]): StyleModelFiles {
  const byName = new Map(files.map((file) => [file.name, file]));
  const json = byName.get(MODEL_JSON_FILE) ?? files.find((file) => file.name.endsWith('.json'));
  return {
    label: json?.name ?? 'the chosen files',
    readModelJson: async () => {
      if (!json) throw new NstModelError('fetch-failed', `The chosen files include no ${MODEL_JSON_FILE}. Choose model.json together with its .bin shards.`);
      return json.text();
    },
    readShard: async (path) => {
      const file = byName.get(path);
      if (!file) throw new Error(`"${path}" was not among the chosen files; choose it together with model.json`);
      return new Uint8Array(await file.arrayBuffer());
    },
  };
}
