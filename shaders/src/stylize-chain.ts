// The whole post-processing chain the <nst-video> element draws each frame with:
// stylised frame + original frame -> temporal smoothing -> colour matching -> strength -> target.
import { DataTexture, NodeUpdateType, RGBAFormat, UnsignedByteType, Vector2 } from 'three/webgpu';
import type { Node, RenderTarget, Texture, TextureNode, WebGPURenderer } from 'three/webgpu';
import { Fn, If, float, floor, ivec2, select, texture, uniform, uv, vec2, vec4 } from 'three/tsl';
import { ColorMatchNode } from './color-match-node.js';
import {
  DEFAULT_COLOR_MATCH,
  DEFAULT_COLOR_MATCH_MODE,
  DEFAULT_MOTION_BLOCK,
  DEFAULT_SMOOTHING,
  DEFAULT_STRENGTH,
  MAX_MOTION_BLOCK,
  type ColorMatchMode,
} from './defaults.js';
import { FullScreenPass } from './render-pass.js';
import { sampleBilinear, texelSize } from './sampling.js';
import { strengthMix } from './strength-mix.js';
import { TemporalSmoothingNode } from './temporal-smoothing-node.js';

function checkUnit(name: string, value: number): number {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw new RangeError(`NstStylizeChain.${name} must be a number from 0 to 1; got ${String(value)}.`);
  }
  return value;
}

/** A texture's size in texels where three's `image` tells it (data, canvas, bitmap, video, VideoFrame), else 0 x 0. */
function sizeOf(texture: Texture): { width: number; height: number } {
  const image = texture.image as { videoWidth?: number; videoHeight?: number; displayWidth?: number; displayHeight?: number; width?: number; height?: number } | null | undefined;
  return { width: image?.videoWidth || image?.displayWidth || image?.width || 0, height: image?.videoHeight || image?.displayHeight || image?.height || 0 };
}

const _drawingBufferSize = /*@__PURE__*/ new Vector2();

/** A 1x1 black texture the texture nodes point at until the first `render()`. */
function placeholderTexture(): DataTexture {
  const placeholder = new DataTexture(new Uint8Array([0, 0, 0, 255]), 1, 1, RGBAFormat, UnsignedByteType);
  placeholder.needsUpdate = true;
  return placeholder;
}

/**
 * Turns (stylised frame, original frame) into the picture shown, at the original's resolution:
 *
 * 1. temporal smoothing of the stylised frame, adaptive to the motion of the original
 *    ({@link TemporalSmoothingNode}, weight `smoothing`);
 * 2. colour matching to the original ({@link ColorMatchNode}, `colorMatch`, `colorMatchMode`);
 * 3. `strength`: mix of the original (0) and the result (1).
 *
 * Every parameter is a uniform. The output pass has a variant for each of colour matching on or
 * off (`colorMatch` 0) and the original mixed in or not (`strength` 1): a software GPU (SwiftShader,
 * what a browser without a usable GPU runs WebGL on) runs both sides of a branch on a uniform, and
 * colour matching's arithmetic made the default output five times as slow as a plain draw there.
 * A variant is built the first time it is drawn; after that, changing a value never builds a
 * shader. With neither on (the defaults) and the canvas as the target, on WebGL2 the smoothing
 * draws the canvas itself and copies it back into its history
 * (`TemporalSmoothingNode.drawToCanvas`): one full-screen pass fewer. One source serves
 * `WebGPURenderer` on WebGPU and on WebGL2 (`forceWebGL: true`); call
 * `await renderer.init()` before the first `render()`.
 *
 * Conventions `render()` assumes:
 * - Orientation: both textures are read the way three.js samples them (texture uv), so `styled`
 *   and `original` must share one row order (e.g. both `flipY = false` with their first row at the
 *   top, as the element uploads them); the output has the original's orientation. If `styled`
 *   comes in the other row order (say an `ExternalTexture` from tfjs next to a `VideoTexture` with
 *   `flipY = true`), set `flipStyledY = true`.
 * - Values: textures are sampled as three.js does (sRGB-tagged textures are decoded to linear).
 *   Colour statistics, chroma and motion are measured on the values the canvas shows: sRGB-encoded
 *   when `renderer.outputColorSpace` is `SRGBColorSpace`, the raw values when it is
 *   `LinearSRGBColorSpace`. Float textures hold 0..1.
 * - `styled` may have any size and type (UnsignedByte, HalfFloat or Float RGBA); it is resampled
 *   bilinearly to the output size in the shader, also where WebGPU cannot filter float32.
 */
export class NstStylizeChain {
  readonly renderer: WebGPURenderer;
  /** The temporal smoothing pass (its motion tuning uniforms are public). */
  readonly temporalSmoothing: TemporalSmoothingNode;
  /** The colour matching pass. */
  readonly colorMatching: ColorMatchNode;

  private readonly _styledNode: TextureNode;
  private readonly _originalNode: TextureNode;
  private readonly _strength = uniform(DEFAULT_STRENGTH);
  private readonly _flipStyledY = uniform(0);
  /** 1 while the styled frame has the size of the target drawn: read without filtering. */
  private readonly _styledAtOutputSize = uniform(0);
  private readonly _placeholder: DataTexture;
  /** The output's variants, by which parts are on (see the class comment). */
  private readonly _outputPasses = new Map<string, FullScreenPass>();
  private _width = 0;
  private _height = 0;

  constructor(renderer: WebGPURenderer) {
    this.renderer = renderer;
    this._placeholder = placeholderTexture();
    this._styledNode = texture(this._placeholder);
    this._originalNode = texture(this._placeholder);
    const coord = uv();
    const styledCoord = select(this._flipStyledY.greaterThan(0.5), vec2(coord.x, float(1).sub(coord.y)), coord) as Node<'vec2'>;
    // At the output's size one texel load gives what filtering four would (the branch is on a
    // uniform, and a software GPU skips the loads of the side not taken): 3 of the blend's 17 ms
    // at 640x480 on SwiftShader.
    const styledColor = Fn(() => {
      const color = vec4(0).toVar();
      If(this._styledAtOutputSize.greaterThan(0.5), () => {
        color.assign(this._styledNode.load(ivec2(floor(styledCoord.mul(texelSize(this._styledNode))))));
      }).Else(() => {
        color.assign(sampleBilinear(this._styledNode, styledCoord));
      });
      return color;
    })();
    this.temporalSmoothing = new TemporalSmoothingNode(styledColor, this._originalNode, DEFAULT_SMOOTHING);
    this.colorMatching = new ColorMatchNode(this.temporalSmoothing.getTextureNode(), this._originalNode, DEFAULT_COLOR_MATCH, DEFAULT_COLOR_MATCH_MODE);
    // Each render() is a new frame, however fast they come (a transcoder, a test): the passes step
    // once per draw of the output, not once per frame of the renderer's animation loop.
    this.temporalSmoothing.updateBeforeType = NodeUpdateType.RENDER;
    this.colorMatching.updateBeforeType = NodeUpdateType.RENDER;
  }

  /** 0..1: 0 shows the original frame, 1 the stylised picture. Default 1. */
  get strength(): number {
    return this._strength.value;
  }

  set strength(value: number) {
    this._strength.value = checkUnit('strength', value);
  }

  /** 0..1: weight of the history where the input is still. 0 turns smoothing off. Default 0.5. */
  get smoothing(): number {
    return this.temporalSmoothing.smoothing.value;
  }

  set smoothing(value: number) {
    this.temporalSmoothing.smoothing.value = checkUnit('smoothing', value);
  }

  /** 0..1: mix between the stylised colours (0) and the colour-matched ones (1). Default 0. */
  get colorMatch(): number {
    return this.colorMatching.amount.value;
  }

  set colorMatch(value: number) {
    this.colorMatching.amount.value = checkUnit('colorMatch', value);
  }

  /** 'luminance' (keep the photo's chroma) or 'mean-variance' (match channel statistics). */
  get colorMatchMode(): ColorMatchMode {
    return this.colorMatching.mode;
  }

  set colorMatchMode(mode: ColorMatchMode) {
    this.colorMatching.mode = mode;
  }

  /** Whether `styled` has the opposite row order to `original` (see the class comment). Default false. */
  get flipStyledY(): boolean {
    return this._flipStyledY.value > 0.5;
  }

  set flipStyledY(value: boolean) {
    this._flipStyledY.value = value ? 1 : 0;
  }

  get width(): number {
    return this._width;
  }

  get height(): number {
    return this._height;
  }

  /**
   * Output size = the source video's resolution: draw into a target (or a canvas) of this size.
   * A new size clears the temporal history.
   */
  setSize(width: number, height: number): void {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
      throw new RangeError(`NstStylizeChain.setSize needs positive integer sizes; got ${width}x${height}.`);
    }
    if (width !== this._width || height !== this._height) this.reset();
    this._width = width;
    this._height = height;
  }

  /**
   * Draws one frame. `styled`: the network's output (any size); `original`: the frame it was made
   * from, at the output size. `target` null (default) draws into the renderer's canvas.
   * Call it once per new frame: each call advances the temporal history. When `styled.image` tells
   * its width (an `ExternalTexture` needs `image = { width, height }`), the motion block of the
   * temporal smoothing follows the output/inference size ratio (at least 2).
   */
  render(styled: Texture, original: Texture, target: RenderTarget | null = null): void {
    if (this._width === 0) throw new Error('NstStylizeChain.render: call setSize(width, height) with the source resolution first.');
    this._styledNode.value = styled;
    this._originalNode.value = original;
    const styledSize = sizeOf(styled);
    if (styledSize.width > 0) {
      this.temporalSmoothing.motionBlock = Math.min(MAX_MOTION_BLOCK, Math.max(DEFAULT_MOTION_BLOCK, Math.round(this._width / styledSize.width)));
    }
    const output = target ?? this.renderer.getDrawingBufferSize(_drawingBufferSize);
    this._styledAtOutputSize.value = styledSize.width === output.width && styledSize.height === output.height ? 1 : 0;
    const [matchColors, mixOriginal] = [this.colorMatch > 0, this.strength < 1];
    // With nothing after the smoothing, its pass draws the canvas itself where the canvas can be
    // copied back into its history: one full-screen pass fewer (the default on a software GPU).
    if (target === null && !matchColors && !mixOriginal && this.temporalSmoothing.drawToCanvas(this.renderer)) return;
    // Drawing the output runs the passes first (their updateBefore).
    this._outputPass(matchColors, mixOriginal).render(this.renderer, target);
  }

  /**
   * Optional, before `render()` with the same `original`: draws what of the frame needs only the
   * original (the temporal smoothing's motion measure), so that the GPU works on it while the
   * caller is still making the stylised frame. `render()` draws the rest (and all of it without
   * this call).
   */
  prepare(original: Texture): void {
    if (this._width === 0) throw new Error('NstStylizeChain.prepare: call setSize(width, height) with the source resolution first.');
    this._originalNode.value = original;
    this.temporalSmoothing.setSize(this._width, this._height);
    this.temporalSmoothing.measureMotion(this.renderer);
  }

  /** The output pass with colour matching and the strength mix each on or off (the same picture as with both on at 0 and 1). */
  private _outputPass(matchColors: boolean, mixOriginal: boolean): FullScreenPass {
    const key = `${matchColors ? 'matched' : 'unmatched'}, ${mixOriginal ? 'mixed' : 'unmixed'}`;
    let pass = this._outputPasses.get(key);
    if (!pass) {
      const stylised = matchColors ? this.colorMatching : this.temporalSmoothing;
      const shown = mixOriginal ? strengthMix(this._originalNode.sample(uv()), stylised, this._strength) : stylised;
      pass = new FullScreenPass(`NstStylizeChain.output (${key})`, vec4(shown.rgb, 1));
      this._outputPasses.set(key, pass);
    }
    return pass;
  }

  /** Clears the temporal history: the next frame shows the stylised frame without blending. */
  reset(): void {
    this.temporalSmoothing.reset();
  }

  dispose(): void {
    this.temporalSmoothing.dispose();
    this.colorMatching.dispose();
    for (const pass of this._outputPasses.values()) pass.dispose();
    this._placeholder.dispose();
  }
}
