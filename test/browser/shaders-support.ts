// Helpers for the shaders tests: renderers on both backends, synthetic frames, read-back, metrics.
import { DataTexture, FloatType, LinearSRGBColorSpace, NoColorSpace, RGBAFormat, RenderTarget, UnsignedByteType, WebGPURenderer } from 'three/webgpu';
import type { Texture } from 'three/webgpu';
import { BT601_LUMA, NstStylizeChain } from '../../shaders/src/index.js';

/** WebGPU renders only to render targets here (presenting crashes SwiftShader's GPU process). */
export const BACKENDS = [
  { name: 'webgpu', forceWebGL: false },
  { name: 'webgl2', forceWebGL: true },
] as const;

export const [WIDTH, HEIGHT] = [64, 48];
/** The "network" works at half the source resolution, like the element's inference size. */
export const [STYLED_WIDTH, STYLED_HEIGHT] = [32, 24];

/**
 * A renderer like the element's: raw values throughout (untagged textures, linear output), so a
 * read-back holds the values the canvas would show.
 */
export async function makeRenderer(forceWebGL: boolean): Promise<WebGPURenderer> {
  const renderer = new WebGPURenderer({ forceWebGL, antialias: false });
  await renderer.init();
  renderer.outputColorSpace = LinearSRGBColorSpace;
  return renderer;
}

/** The renderer of one backend and one chain sized WIDTH x HEIGHT, made and disposed by mocha hooks. */
export interface ChainFixture {
  renderer: WebGPURenderer;
  /** Shared by a file's tests (compiling is slow on SwiftShader); each test sets what it needs and calls reset(). */
  chain: NstStylizeChain;
}

/** Registers before/after hooks in the current describe block that fill and dispose a {@link ChainFixture}. */
export function useChainFixture(forceWebGL: boolean): ChainFixture {
  const fixture = {} as ChainFixture;
  before(async () => {
    fixture.renderer = await makeRenderer(forceWebGL);
    fixture.chain = new NstStylizeChain(fixture.renderer);
    fixture.chain.setSize(WIDTH, HEIGHT);
  });
  after(() => {
    fixture.chain?.dispose();
    fixture.renderer?.dispose();
  });
  return fixture;
}

/** An RGBA float picture in data row order (row 0 first), values 0..1. */
export interface Picture {
  readonly width: number;
  readonly height: number;
  readonly data: Float32Array;
}

export function makePicture(width: number, height: number, pixel: (x: number, y: number) => [number, number, number]): Picture {
  const data = new Float32Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b] = pixel(x, y);
      data.set([clamp01(r), clamp01(g), clamp01(b), 1], (y * width + x) * 4);
    }
  }
  return { width, height, data };
}

export function clamp01(v: number): number {
  return Math.min(1, Math.max(0, v));
}

export type TextureType = 'unsigned-byte' | 'float';

/** A DataTexture of the picture, untagged, no flip: 8-bit (rounded) or float32. */
export function pictureTexture(picture: Picture, type: TextureType = 'unsigned-byte'): DataTexture {
  const data = type === 'float' ? picture.data.slice() : Uint8Array.from(picture.data, (v) => Math.round(v * 255));
  const texture = new DataTexture(data, picture.width, picture.height, RGBAFormat, type === 'float' ? FloatType : UnsignedByteType);
  texture.colorSpace = NoColorSpace;
  texture.flipY = false;
  texture.needsUpdate = true;
  return texture;
}

/** Replaces a DataTexture's pixels with a picture of the same size and type. */
export function updateTexture(texture: DataTexture, picture: Picture): void {
  const data = texture.image.data as Uint8Array | Float32Array;
  if (data instanceof Float32Array) data.set(picture.data);
  else for (let i = 0; i < data.length; i++) data[i] = Math.round(picture.data[i] * 255);
  texture.needsUpdate = true;
}

export function floatTarget(width = WIDTH, height = HEIGHT): RenderTarget {
  return new RenderTarget(width, height, { depthBuffer: false, type: FloatType });
}

/**
 * Reads a float render target back in the textures' data row order. WebGL's readPixels returns
 * the rows the other way round from WebGPU's copy; the chain matched a plain textured quad in both
 * (checked by the orientation test), so this undoes only the read-back difference.
 */
export async function readPicture(renderer: WebGPURenderer, target: RenderTarget): Promise<Picture> {
  const { width, height } = target;
  const raw = (await renderer.readRenderTargetPixelsAsync(target, 0, 0, width, height)) as Float32Array;
  const isWebGL = (renderer.backend as { isWebGLBackend?: boolean }).isWebGLBackend === true;
  if (!isWebGL) return { width, height, data: Float32Array.from(raw) };
  const data = new Float32Array(raw.length);
  const row = width * 4;
  for (let y = 0; y < height; y++) data.set(raw.subarray(y * row, (y + 1) * row), (height - 1 - y) * row);
  return { width, height, data };
}

/** Deterministic uniform random numbers (mulberry32). */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Gaussian random numbers (Box-Muller) from a uniform source. */
export function gaussian(uniform: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** Picture + independent Gaussian noise of `sigma` per channel (sensor noise, network flicker). */
export function withNoise(picture: Picture, sigma: number, normal: () => number): Picture {
  const data = picture.data.slice();
  for (let i = 0; i < data.length; i++) if (i % 4 !== 3) data[i] = clamp01(data[i] + sigma * normal());
  return { ...picture, data };
}

/**
 * A stand-in for the style network: half resolution (2x2 mean), a colour remap with a strong
 * blue/purple cast and boosted contrast, plus its own per-frame flicker of `flicker` per channel.
 */
export function stylise(original: Picture, flicker: number, normal: () => number): Picture {
  const sw = original.width / 2;
  const sh = original.height / 2;
  const styled = makePicture(sw, sh, (x, y) => {
    let [r, g, b] = [0, 0, 0];
    for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]]) {
      const i = ((2 * y + dy) * original.width + 2 * x + dx) * 4;
      r += original.data[i] / 4;
      g += original.data[i + 1] / 4;
      b += original.data[i + 2] / 4;
    }
    const luma = BT601_LUMA[0] * r + BT601_LUMA[1] * g + BT601_LUMA[2] * b;
    return [0.15 + 0.5 * luma + 0.2 * g, 0.1 + 0.6 * luma * luma, 0.35 + 0.6 * luma];
  });
  return withNoise(styled, flicker, normal);
}

/** Bilinear resample (texel centres, clamp to edge): what the chain must do to the styled frame. */
export function resample(picture: Picture, width: number, height: number): Picture {
  const at = (x: number, y: number, c: number): number => {
    const cx = Math.min(picture.width - 1, Math.max(0, x));
    const cy = Math.min(picture.height - 1, Math.max(0, y));
    return picture.data[(cy * picture.width + cx) * 4 + c];
  };
  const data = new Float32Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const px = ((x + 0.5) / width) * picture.width - 0.5;
      const py = ((y + 0.5) / height) * picture.height - 0.5;
      const [x0, y0] = [Math.floor(px), Math.floor(py)];
      const [fx, fy] = [px - x0, py - y0];
      for (let c = 0; c < 4; c++) {
        const top = at(x0, y0, c) * (1 - fx) + at(x0 + 1, y0, c) * fx;
        const bottom = at(x0, y0 + 1, c) * (1 - fx) + at(x0 + 1, y0 + 1, c) * fx;
        data[(y * width + x) * 4 + c] = top * (1 - fy) + bottom * fy;
      }
    }
  }
  return { width, height, data };
}

/** Mean |a - b| over the RGB channels of the pixels where `mask` is true (all when omitted). */
export function meanAbsDiff(a: Picture, b: Picture, mask?: (x: number, y: number) => boolean): number {
  let [sum, count] = [0, 0];
  for (let y = 0; y < a.height; y++) {
    for (let x = 0; x < a.width; x++) {
      if (mask && !mask(x, y)) continue;
      const i = (y * a.width + x) * 4;
      for (let c = 0; c < 3; c++) sum += Math.abs(a.data[i + c] - b.data[i + c]);
      count += 3;
    }
  }
  return sum / count;
}

export function maxAbsDiff(a: Picture, b: Picture): number {
  let max = 0;
  for (let i = 0; i < a.data.length; i++) if (i % 4 !== 3) max = Math.max(max, Math.abs(a.data[i] - b.data[i]));
  return max;
}

/** Mean BT.601 Y, U (Cb), V (Cr) of a picture, U and V offset to 0..1. */
export function meanYuv(picture: Picture): [number, number, number] {
  let [y, u, v] = [0, 0, 0];
  const n = picture.width * picture.height;
  for (let i = 0; i < n; i++) {
    const [r, g, b] = picture.data.subarray(i * 4, i * 4 + 3);
    const luma = BT601_LUMA[0] * r + BT601_LUMA[1] * g + BT601_LUMA[2] * b;
    y += luma;
    u += (b - luma) / 1.772 + 0.5;
    v += (r - luma) / 1.402 + 0.5;
  }
  return [y / n, u / n, v / n];
}

/** Mean and standard deviation of each RGB channel. */
export function channelStats(picture: Picture): { mean: number[]; std: number[] } {
  const n = picture.width * picture.height;
  const mean = [0, 1, 2].map((c) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += picture.data[i * 4 + c];
    return s / n;
  });
  const std = [0, 1, 2].map((c) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += (picture.data[i * 4 + c] - mean[c]) ** 2;
    return Math.sqrt(s / n);
  });
  return { mean, std };
}

/** A warm, photo-like test picture with gradients and edges. */
export function warmScene(width = WIDTH, height = HEIGHT): Picture {
  return makePicture(width, height, (x, y) => {
    const inBox = x > 20 && x < 44 && y > 12 && y < 34;
    const base = 0.35 + 0.4 * (x / width) + 0.1 * Math.sin(y / 3);
    return inBox ? [0.9, 0.55, 0.2] : [base + 0.15, base * 0.8, base * 0.45];
  });
}

export function disposeAll(...things: Array<Texture | RenderTarget>): void {
  for (const thing of things) thing.dispose();
}
