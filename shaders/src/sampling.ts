// Texture reads that behave the same for every texture type on both backends.
import type { Node, TextureNode } from 'three/webgpu';
import { clamp, floor, ivec2, mix, textureSize, vec2 } from 'three/tsl';

/** Size of level 0 of a texture node, in texels, as a float vec2. */
export function texelSize(textureNode: TextureNode): Node<'vec2'> {
  return vec2(textureSize(textureNode) as unknown as Node<'ivec2'>);
}

/**
 * Bilinear sample at `coord` (0..1, three's uv convention) from four texel loads with clamp-to-edge.
 * Unlike `texture().sample()` it also filters float32 textures where WebGPU cannot (no
 * `float32-filterable` feature: three then falls back to nearest texel loads), so a network
 * output of any size and type is resampled the same way on WebGPU and WebGL2.
 */
export function sampleBilinear(textureNode: TextureNode, coord: Node<'vec2'>): Node<'vec4'> {
  const size = texelSize(textureNode);
  const position = coord.mul(size).sub(0.5);
  const base = floor(position);
  const f = position.sub(base);
  const last = size.sub(1);
  const at = (dx: number, dy: number): Node<'vec4'> => textureNode.load(ivec2(clamp(base.add(vec2(dx, dy)), vec2(0), last))) as unknown as Node<'vec4'>;
  return mix(mix(at(0, 0), at(1, 0), f.x), mix(at(0, 1), at(1, 1), f.x), f.y);
}
