// Colour-space helpers shared by the passes: BT.601 luma/chroma and the sRGB-encoded "display" space.
import { SRGBColorSpace } from 'three/webgpu';
import type { Node } from 'three/webgpu';
import { Fn, dot, max, sRGBTransferEOTF, sRGBTransferOETF, select, vec3, vec4 } from 'three/tsl';

/** BT.601 luma weights (R, G, B). */
export const BT601_LUMA: readonly [number, number, number] = [0.299, 0.587, 0.114];

const KB = 2 * (1 - BT601_LUMA[2]); // 1.772: Cb = (B - Y) / KB + 0.5
const KR = 2 * (1 - BT601_LUMA[0]); // 1.402: Cr = (R - Y) / KR + 0.5

/** BT.601 luma Y of an RGB colour (values 0..1 in, 0..1 out). */
export const luma = /*@__PURE__*/ Fn(([rgb]: [Node<'vec3'>]) => dot(rgb, vec3(...BT601_LUMA)));

/**
 * Full-range BT.601 RGB -> YUV (Y, U = Cb, V = Cr), with U and V offset by 0.5 so that every
 * component of an RGB colour in 0..1 lies in 0..1. The transform is linear, so mean chroma of a
 * picture is a linear function of its mean RGB.
 */
export const rgbToYuv = /*@__PURE__*/ Fn(([c]: [Node<'vec3'>]) => {
  const y = dot(c, vec3(...BT601_LUMA));
  return vec3(y, c.z.sub(y).div(KB).add(0.5), c.x.sub(y).div(KR).add(0.5));
});

/** The inverse of {@link rgbToYuv}. */
export const yuvToRgb = /*@__PURE__*/ Fn(([c]: [Node<'vec3'>]) => {
  const r = c.x.add(c.z.sub(0.5).mul(KR));
  const b = c.x.add(c.y.sub(0.5).mul(KB));
  const g = c.x.sub(r.mul(BT601_LUMA[0])).sub(b.mul(BT601_LUMA[2])).div(BT601_LUMA[1]);
  return vec3(r, g, b);
});

/**
 * Working-space colour -> the values the canvas will show ("display" values): sRGB-encoded when
 * `encode` is 1 (a renderer whose `outputColorSpace` is `SRGBColorSpace`, three's default, where
 * textures tagged `SRGBColorSpace` are decoded to linear when sampled), unchanged when `encode` is
 * 0 (a renderer that outputs `LinearSRGBColorSpace` and untagged textures: values pass through raw).
 * The passes measure colour statistics, chroma and motion in display values, so that they match
 * what a viewer, and a read-back of the canvas, sees. `encode` is a uniform (no rebuild when it
 * changes) or, for a shader built for one encoding, a boolean: a software GPU runs both sides of
 * the uniform's branch, the transfer function included, for every pixel.
 */
export function toDisplay(color: Node<'vec4'>, encode: Node<'float'> | boolean): Node<'vec4'> {
  return convert(color, encode, sRGBTransferOETF);
}

/** The inverse of {@link toDisplay}: display values -> working space. */
export function fromDisplay(color: Node<'vec4'>, encode: Node<'float'> | boolean): Node<'vec4'> {
  return convert(color, encode, sRGBTransferEOTF);
}

function convert(color: Node<'vec4'>, encode: Node<'float'> | boolean, transfer: (rgb: Node<'vec3'>) => Node): Node<'vec4'> {
  const rgb = color.rgb;
  if (typeof encode === 'boolean') return encode ? vec4(transfer(max(rgb, 0)) as Node<'vec3'>, color.a) : color;
  return vec4(select(encode.greaterThan(0.5), transfer(max(rgb, 0)), rgb) as Node<'vec3'>, color.a);
}

/** 1 when `toDisplay` must sRGB-encode for this renderer's output, else 0. */
export function displayEncodingOf(renderer: { outputColorSpace: string }): number {
  return renderer.outputColorSpace === SRGBColorSpace ? 1 : 0;
}
