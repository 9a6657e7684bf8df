// Strength: how much of the stylised picture replaces the original frame.
import type { Node } from 'three/webgpu';
import { Fn, mix } from 'three/tsl';

/**
 * `mix(original, stylised, strength)`: strength 0 shows the original frame exactly, 1 the
 * stylised picture. A plain TSL function (no state), like three's `sepia`.
 */
export const strengthMix = /*@__PURE__*/ Fn(([original, stylised, strength]: [Node<'vec4'>, Node<'vec4'>, Node<'float'>]) => mix(original, stylised, strength));
