// How a pass's result travels through a node graph, as three's own passes hand theirs on.
import type { Node, PassNode, Texture, TextureNode } from 'three/webgpu';
import { convertToTexture, passTexture } from 'three/tsl';

/** A node that draws into a texture of its own, which `getTextureNode()` reads (three's convention). */
interface TexturePass {
  getTextureNode(): TextureNode;
}

/**
 * A texture node of `texture` that, wherever a node graph reads it, also builds `pass`, so that
 * `pass.updateBefore` draws the texture before that graph is drawn. This is three's `passTexture`,
 * which its own AfterImageNode gives itself the same way; its typings admit only a PassNode.
 */
export function passResultTexture(pass: Node, texture: Texture): TextureNode {
  return passTexture(pass as unknown as PassNode, texture);
}

/**
 * `node` as a texture node, for a pass that reads texels: a pass's own result texture where it has
 * one (no extra copy), else three's `convertToTexture` (the node itself if it is a texture node,
 * else a render of it into a texture).
 */
export function textureOf(node: Node): TextureNode {
  return isTexturePass(node) ? node.getTextureNode() : convertToTexture(node);
}

function isTexturePass(node: object): node is TexturePass {
  return typeof (node as { getTextureNode?: unknown }).getTextureNode === 'function';
}
