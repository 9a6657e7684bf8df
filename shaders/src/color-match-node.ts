// Colour matching: give the stylised picture back the photo's colours, either by keeping only the
// stylised luma (luminance transfer) or by matching each channel's mean and spread (mean-variance).
import { FloatType, Node, NodeUpdateType, RenderTarget } from 'three/webgpu';
import type { NodeFrame, Renderer, TextureNode } from 'three/webgpu';
import { Fn, Loop, clamp, float, floor, int, ivec2, max, mix, nodeObject, select, sqrt, texture, uniform, uv, vec2, vec3, vec4 } from 'three/tsl';
import { displayEncodingOf, fromDisplay, rgbToYuv, toDisplay, yuvToRgb } from './color-spaces.js';
import { COLOR_MATCH_MODES, DEFAULT_COLOR_MATCH, DEFAULT_COLOR_MATCH_MODE, type ColorMatchMode } from './defaults.js';
import { textureOf } from './pass-texture.js';
import { FullScreenPass } from './render-pass.js';
import { texelSize } from './sampling.js';

/** Grid of cells of the first reduction stage, and taps per cell along each axis. */
const GRID = 16;
const TAPS = 8;
/** Largest factor by which mean-variance transfer may stretch a channel's contrast. */
const MAX_GAIN = 8;

/**
 * Colour transfer from a reference picture (the video frame) to the stylised one, in display
 * values (see `toDisplay`), mixed with the stylised colour by `amount`:
 *
 * - `luminance`: BT.601 YUV with Y from the stylised pixel and U, V from the reference pixel;
 *   per-pixel chroma is the photo's, so the mean chroma is too. Where the stylised Y and the
 *   photo's chroma make no valid RGB colour, Y gives way (is clamped), not the chroma.
 * - `mean-variance`: per channel `(s - mean_s) / std_s * std_r + mean_r` (Reinhard-style transfer
 *   in RGB), the gain clamped to [0, 8]. The means and standard deviations come from a two-stage
 *   reduction on the GPU: a 64x16 float target of per-cell moments (each cell averages 8x8 taps of
 *   both pictures), then a 4x1 float target holding mean_s, mean(s^2), mean_r, mean(r^2), drawn by
 *   `updateBefore` (which three calls before drawing a material that uses the node, once per frame
 *   of the renderer's animation loop: `NodeUpdateType.FRAME`); `luminance` mode needs none.
 *
 * `amount` (0..1) and `mode` are uniforms: changing them never rebuilds a shader. Like
 * {@link TemporalSmoothingNode} it extends `Node`, not three's deprecated `TempNode`.
 */
export class ColorMatchNode extends Node<'vec4'> {
  static get type(): string {
    return 'ColorMatchNode';
  }

  /** The stylised picture. */
  textureNode: TextureNode;
  /** The picture whose colours are kept (the video frame). */
  referenceNode: TextureNode;
  /** 0: stylised colours, 1: fully matched. */
  readonly amount = uniform(DEFAULT_COLOR_MATCH);
  /** 0: luminance transfer, 1: mean-variance transfer; set through `mode`. */
  readonly modeUniform = uniform(0);
  /** 1: work on sRGB-encoded values (set from the renderer's outputColorSpace on each update). */
  readonly displayEncoding = uniform(0);

  // The statistics passes read both pictures through nodes of their own, pointed at the same
  // textures on each update: `textureNode` may be another pass's result (temporal smoothing's),
  // and reading that in these passes would run that pass again inside them.
  private readonly _styledTexels: TextureNode;
  private readonly _referenceTexels: TextureNode;
  private readonly _cellsRT: RenderTarget;
  private readonly _statsRT: RenderTarget;
  private readonly _cellsNode: TextureNode;
  private readonly _statsNode: TextureNode;
  private _cellsPass: FullScreenPass | null = null;
  private _statsPass: FullScreenPass | null = null;

  constructor(textureNode: TextureNode, referenceNode: TextureNode, amount: number = DEFAULT_COLOR_MATCH, mode: ColorMatchMode = DEFAULT_COLOR_MATCH_MODE) {
    super('vec4');
    this.textureNode = textureNode;
    this.referenceNode = referenceNode;
    this.amount.value = amount;
    this.mode = mode;
    this._styledTexels = texture(textureNode.value);
    this._referenceTexels = texture(referenceNode.value);
    this._cellsRT = new RenderTarget(4 * GRID, GRID, { depthBuffer: false, type: FloatType });
    this._cellsRT.texture.name = 'ColorMatchNode.cells';
    this._statsRT = new RenderTarget(4, 1, { depthBuffer: false, type: FloatType });
    this._statsRT.texture.name = 'ColorMatchNode.stats';
    this._cellsNode = texture(this._cellsRT.texture);
    this._statsNode = texture(this._statsRT.texture);
    this.updateBeforeType = NodeUpdateType.FRAME;
  }

  get mode(): ColorMatchMode {
    return this.modeUniform.value > 0.5 ? 'mean-variance' : 'luminance';
  }

  set mode(mode: ColorMatchMode) {
    if (!COLOR_MATCH_MODES.includes(mode)) {
      throw new TypeError(`colorMatchMode must be one of ${COLOR_MATCH_MODES.map((m) => `'${m}'`).join(', ')}; got ${String(mode)}.`);
    }
    this.modeUniform.value = mode === 'mean-variance' ? 1 : 0;
  }

  /** Computes the statistics of both pictures (two tiny passes) where the matched colour needs them. */
  override updateBefore(frame: NodeFrame): undefined {
    const renderer = frame.renderer as Renderer;
    this.displayEncoding.value = displayEncodingOf(renderer);
    if (this.amount.value === 0 || this.mode !== 'mean-variance') return undefined;
    this._styledTexels.value = this.textureNode.value;
    this._referenceTexels.value = this.referenceNode.value;
    this._cellsPass ??= new FullScreenPass('ColorMatch.cells', Fn(() => this._cellsFragment())());
    this._statsPass ??= new FullScreenPass('ColorMatch.stats', Fn(() => this._statsFragment())());
    this._cellsPass.render(renderer, this._cellsRT);
    this._statsPass.render(renderer, this._statsRT);
    return undefined;
  }

  override setup(): Node<'vec4'> {
    const coord = uv();
    return this._matched(this.textureNode.sample(coord), this.referenceNode.sample(coord));
  }

  /**
   * The matched colour (working space, alpha of `styled`) for one pixel of the stylised picture and
   * the same pixel of the reference; uses the statistics of the last update.
   */
  private _matched(styled: Node<'vec4'>, reference: Node<'vec4'>): Node<'vec4'> {
    const s = toDisplay(styled, this.displayEncoding).rgb;
    const r = toDisplay(reference, this.displayEncoding).rgb;
    // Luminance transfer keeps the reference's chroma exactly: RGB = Y + offset(U, V), and where the
    // style's Y would push a channel out of 0..1, Y is clamped to the range that chroma allows
    // (never empty: the reference pixel itself lies in it) instead of clipping the channels.
    const offset = yuvToRgb(vec3(0, rgbToYuv(r).yz));
    const lowest = max(offset.x.negate(), max(offset.y.negate(), offset.z.negate()));
    const highest = float(1).sub(max(offset.x, max(offset.y, offset.z)));
    const luminance = offset.add(clamp(rgbToYuv(s).x, lowest, highest));
    const stat = (index: number): Node<'vec3'> => this._statsNode.load(ivec2(index, 0)).rgb;
    const [meanS, meanR] = [stat(0), stat(2)];
    const stdS = sqrt(max(stat(1).sub(meanS.mul(meanS)), 0));
    const stdR = sqrt(max(stat(3).sub(meanR.mul(meanR)), 0));
    const gain = clamp(stdR.div(max(stdS, 1e-4)), 0, MAX_GAIN);
    const meanVariance = s.sub(meanS).mul(gain).add(meanR);
    const matched = select(this.modeUniform.greaterThan(0.5), meanVariance, luminance) as Node<'vec3'>;
    const result = clamp(mix(s, matched, this.amount), 0, 1);
    return fromDisplay(vec4(result, styled.a), this.displayEncoding);
  }

  /**
   * Stage 1: texel (block * GRID + cx, cy) holds one moment of one picture over cell (cx, cy).
   * (Built inside a `Fn`, as is stage 2: loops need a stack to be recorded on.)
   */
  private _cellsFragment(): Node<'vec4'> {
    const pixel = floor(uv().mul(vec2(4 * GRID, GRID)));
    const block = floor(pixel.x.div(GRID));
    const cell = vec2(pixel.x.sub(block.mul(GRID)), pixel.y);
    const sizeS = texelSize(this._styledTexels);
    const sizeR = texelSize(this._referenceTexels);
    const sumS = vec3(0).toVar();
    const sumS2 = vec3(0).toVar();
    const sumR = vec3(0).toVar();
    const sumR2 = vec3(0).toVar();
    Loop({ type: 'int', start: 0, end: TAPS }, { type: 'int', start: 0, end: TAPS }, ({ i: ty, j: tx }) => {
      const at = cell.add(vec2(float(tx), float(ty)).add(0.5).div(TAPS)).div(GRID);
      const s = toDisplay(this._styledTexels.load(ivec2(at.mul(sizeS))), this.displayEncoding).rgb;
      const r = toDisplay(this._referenceTexels.load(ivec2(at.mul(sizeR))), this.displayEncoding).rgb;
      sumS.addAssign(s);
      sumS2.addAssign(s.mul(s));
      sumR.addAssign(r);
      sumR2.addAssign(r.mul(r));
    });
    const moment = select(block.lessThan(1), sumS, select(block.lessThan(2), sumS2, select(block.lessThan(3), sumR, sumR2))) as Node<'vec3'>;
    return vec4(moment.div(TAPS * TAPS), 1);
  }

  /** Stage 2: texel q of the 4x1 target averages block q of the cells. */
  private _statsFragment(): Node<'vec4'> {
    const block = int(floor(uv().x.mul(4)));
    const sum = vec3(0).toVar();
    Loop({ type: 'int', start: 0, end: GRID }, { type: 'int', start: 0, end: GRID }, ({ i: cy, j: cx }) => {
      sum.addAssign(this._cellsNode.load(ivec2(block.mul(GRID).add(cx), cy)).rgb);
    });
    return vec4(sum.div(GRID * GRID), 1);
  }

  override dispose(): void {
    super.dispose();
    this._cellsRT.dispose();
    this._statsRT.dispose();
    this._cellsPass?.dispose();
    this._statsPass?.dispose();
  }
}

/**
 * Colour matching of `styled` to `reference` (see {@link ColorMatchNode}); `amount` 0..1 mixes
 * the stylised colour with the matched one. `styled` may be a pass such as `temporalSmoothing()`:
 * its result texture is read, not a copy of it.
 */
export const colorMatch = (styled: Node<'vec4'>, reference: Node<'vec4'>, amount: number = DEFAULT_COLOR_MATCH, mode: ColorMatchMode = DEFAULT_COLOR_MATCH_MODE): ColorMatchNode =>
  nodeObject(new ColorMatchNode(textureOf(styled), textureOf(reference), amount, mode));
