/**
 * Training photos: every JPEG/PNG/WebP under a folder (recursively), resized so the short side is
 * the crop size, cut to a square (randomly placed and randomly mirrored, or always the centre: see
 * `CropMode`), in an order reshuffled every epoch. All randomness comes from one `SeededRng`
 * whose state, with the epoch's order and the position in it, is the `DataState` a checkpoint
 * stores.
 */
import sharp from 'sharp';
import { statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { extname, join, relative } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { readRgbImage } from '../image-io.js';
import { DEFAULT_CROP, DEFAULT_CROP_ZOOM, IMAGE_EXTENSIONS } from './defaults.js';
import { SeededRng } from './rng.js';

/**
 * How a photo is cut to the training square: `random` draws its position and a mirror flip each
 * time the photo comes (more variety); `center` always takes the unmirrored centre, as Johnson et
 * al. 2016 and pytorch/examples do, so a photo's content features can be computed once
 * (content-feature-cache.ts).
 */
export const CROP_MODES = ['random', 'center'] as const;
export type CropMode = (typeof CROP_MODES)[number];

/**
 * How training crops are cut: the mode, and for random crops the most they zoom in. A zoom z
 * scales the photo so its short side is z times the crop's before the square is cut, so the
 * square covers 1/z of the short side: the same photo gives crops of other scales and places.
 * Zooms are drawn log-uniformly from [1, maxZoom]; 1 is every crop at the full short side.
 */
export interface CropSettings {
  mode: CropMode;
  maxZoom: number;
}

/** Where a square is cut from a photo (see loadSquareCrop). */
export interface CropPlacement {
  /** Position in [0, 1) across the room left beside the square: 0.5, 0.5 is the centre. */
  u: number;
  v: number;
  /** Mirror left to right. */
  flip: boolean;
  /** The photo's short side is scaled to `zoom` times the square's before it is cut (>= 1). */
  zoom: number;
}

export const CENTRE_CROP: CropPlacement = { u: 0.5, v: 0.5, flip: false, zoom: 1 };

export interface DataState {
  rngState: number;
  epoch: number;
  /** Index into `order` of the next photo. */
  position: number;
  /** This epoch's order, as indices into the sorted file list. */
  order: number[];
  /** Files that could not be read (relative paths), skipped from then on. */
  unreadable: string[];
}

export interface Batch {
  /** RGB 0..255, [count, size, size, 3] in row-major order. */
  pixels: Float32Array;
  count: number;
  files: string[];
  /** Data state after this batch: what a checkpoint taken after training on it stores. */
  stateAfter: DataState;
}

/** Sorted relative paths of every image under `directory`. Throws when there are none. */
export async function listImages(directory: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(directory, { recursive: true, withFileTypes: true });
  } catch (error) {
    throw new Error(`Cannot read the photo folder "${directory}": ${(error as Error).message}.`, { cause: error });
  }
  const isImage = (name: string) => (IMAGE_EXTENSIONS as readonly string[]).includes(extname(name).toLowerCase());
  const pathOf = (entry: (typeof entries)[number]) => join(entry.parentPath ?? (entry as { path?: string }).path ?? directory, entry.name);
  // A symbolic link counts when it leads to a file (a folder of links to photos is a common way to pick a subset).
  const isFileOrLinkToOne = (entry: (typeof entries)[number]) => entry.isFile() || (entry.isSymbolicLink() && statSync(pathOf(entry), { throwIfNoEntry: false })?.isFile() === true);
  const files = entries
    .filter((entry) => isImage(entry.name) && isFileOrLinkToOne(entry))
    .map((entry) => relative(directory, pathOf(entry)))
    .sort();
  if (files.length === 0) {
    throw new Error(`No photos in "${directory}": put JPEG, PNG or WebP files in it (subfolders are searched too).`);
  }
  return files;
}

/**
 * Decodes an image, scales it so its short side is `size` (times the placement's zoom) and cuts a
 * size x size square where `placement` says (the centre by default). Returns RGB 0..255 floats.
 */
export async function loadSquareCrop(path: string, size: number, placement: CropPlacement = CENTRE_CROP): Promise<Float32Array> {
  const { u, v, flip, zoom } = placement;
  const scaled = Math.max(size, Math.round(size * zoom));
  const { data, info } = await sharp(path, { failOn: 'error' })
    .rotate()
    .removeAlpha()
    .toColourspace('srgb')
    .resize(scaled, scaled, { fit: 'outside', kernel: 'lanczos3' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const { width, height, channels } = info;
  const left = Math.min(width - size, Math.floor(u * (width - size + 1)));
  const top = Math.min(height - size, Math.floor(v * (height - size + 1)));
  const out = new Float32Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const sx = left + (flip ? size - 1 - x : x);
      const src = ((top + y) * width + sx) * channels;
      const dst = (y * size + x) * 3;
      out[dst] = data[src];
      out[dst + 1] = data[src + 1];
      out[dst + 2] = data[src + 2];
    }
  }
  return out;
}

export class TrainingData {
  readonly directory: string;
  readonly files: readonly string[];
  readonly size: number;
  private readonly _rng: SeededRng;
  private _state: DataState;
  private readonly _warn: (message: string) => void;

  readonly crop: CropSettings;

  constructor(directory: string, files: readonly string[], size: number, seed: number, warn: (message: string) => void, state?: DataState, crop: CropSettings = { mode: DEFAULT_CROP, maxZoom: DEFAULT_CROP_ZOOM }) {
    this.directory = directory;
    this.crop = crop;
    this.files = files;
    this.size = size;
    this._warn = warn;
    this._rng = new SeededRng(seed);
    if (state) {
      if (state.order.length !== files.length) {
        throw new Error(`The checkpoint's data order has ${state.order.length} photos but "${directory}" now has ${files.length}; resume with the same photos.`);
      }
      this._state = structuredClone(state);
      this._rng.state = state.rngState;
    } else {
      this._state = { rngState: 0, epoch: 0, position: 0, order: this._rng.permutation(files.length), unreadable: [] };
      this._state.rngState = this._rng.state;
    }
  }

  get state(): DataState {
    return structuredClone(this._state);
  }

  get unreadableCount(): number {
    return this._state.unreadable.length;
  }

  /** Photos completed so far, as a fraction of epochs (for the progress line). */
  get epochProgress(): number {
    return this._state.epoch + this._state.position / this.files.length;
  }

  /** The next `count` crops. Unreadable photos are skipped (one warning each) and replaced. */
  async nextBatch(count: number): Promise<Batch> {
    const pixels = new Float32Array(count * this.size * this.size * 3);
    const files: string[] = [];
    while (files.length < count) {
      if (this._state.unreadable.length >= this.files.length) {
        throw new Error(`None of the ${this.files.length} photos in "${this.directory}" could be read.`);
      }
      if (this._state.position >= this._state.order.length) {
        this._state.epoch++;
        this._state.position = 0;
        this._state.order = this._rng.permutation(this.files.length);
      }
      const file = this.files[this._state.order[this._state.position++]];
      const placement = this._nextPlacement();
      this._state.rngState = this._rng.state;
      if (this._state.unreadable.includes(file)) continue;
      try {
        pixels.set(await loadSquareCrop(join(this.directory, file), this.size, placement), files.length * this.size * this.size * 3);
        files.push(file);
      } catch (error) {
        this._state.unreadable.push(file);
        this._warn(`warning: skipping unreadable photo "${file}" (${(error as Error).message.split('\n')[0]})`);
      }
    }
    return { pixels, count, files, stateAfter: this.state };
  }

  /** Where the next crop is cut. The zoom is drawn last and only when it can differ from 1, so runs without it draw what they always did. */
  private _nextPlacement(): CropPlacement {
    if (this.crop.mode === 'center') return CENTRE_CROP;
    const [u, v, flip] = [this._rng.next(), this._rng.next(), this._rng.next() < 0.5];
    const zoom = this.crop.maxZoom > 1 ? Math.exp(this._rng.next() * Math.log(this.crop.maxZoom)) : 1;
    return { u, v, flip, zoom };
  }
}

/**
 * How big the style image is when its Gram matrices are taken: its short side or its long side in
 * pixels (the scale of its brush strokes relative to the photos' depends on it).
 */
export type StyleImageSize = { shortSide: number } | { longSide: number };

/** Resolves --style-size (short side) / --style-long-side, defaulting to a short side of `size`. */
export function styleImageSize(options: { styleSize?: number; styleLongSide?: number; size: number }): StyleImageSize {
  if (options.styleSize !== undefined && options.styleLongSide !== undefined) {
    throw new Error('Give --style-size (short side) or --style-long-side, not both.');
  }
  return options.styleLongSide !== undefined ? { longSide: options.styleLongSide } : { shortSide: options.styleSize ?? options.size };
}

/** The style image as a [1, h, w, 3] tensor (RGB 0..255) with its short side scaled to `shortSide`. */
export async function loadStyleImage(path: string, size: StyleImageSize): Promise<tf.Tensor4D> {
  const image = await readRgbImage(path);
  const scale = 'longSide' in size ? size.longSide / Math.max(image.width, image.height) : size.shortSide / Math.min(image.width, image.height);
  const width = Math.max(1, Math.round(image.width * scale));
  const height = Math.max(1, Math.round(image.height * scale));
  const data = await sharp(Buffer.from(image.data), { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(width, height, { kernel: 'lanczos3' })
    .raw()
    .toBuffer();
  return tf.tensor4d(Float32Array.from(data), [1, height, width, 3]);
}
