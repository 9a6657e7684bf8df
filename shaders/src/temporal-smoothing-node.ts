// Motion-adaptive temporal smoothing: removes the style network's flicker where the picture is
// still and follows the network where the INPUT moves, so moving things leave no ghost trail.
import { HalfFloatType, Node, NodeUpdateType, RenderTarget, UnsignedByteType, Vector2 } from 'three/webgpu';
import type { NodeFrame, Renderer, TextureDataType, TextureNode } from 'three/webgpu';
import { Fn, If, Loop, abs, float, floor, ivec2, max, min, mix, nodeObject, smoothstep, texture, uniform, uv, vec2, vec4 } from 'three/tsl';
import { displayEncodingOf, luma, toDisplay } from './color-spaces.js';
import { DEFAULT_MOTION_BLOCK, DEFAULT_MOTION_RANGE, DEFAULT_MOTION_THRESHOLD, DEFAULT_SMOOTHING, MAX_MOTION_BLOCK } from './defaults.js';
import { canCopyCanvas, copyCanvasTo } from './canvas-copy.js';
import { passResultTexture, textureOf } from './pass-texture.js';
import { FullScreenPass } from './render-pass.js';
import { texelSize } from './sampling.js';

/** A single pixel's luma must change this many times `motionThreshold` to count as motion. */
const FINE_THRESHOLD_FACTOR = 2.5;

const _size = /*@__PURE__*/ new Vector2();

/**
 * Exponential moving average of the stylised frames whose weight collapses where the input moves:
 *
 *     out_t  = mix(styled_t, out_{t-1}, smoothing * (1 - motion) * historyValid)
 *     motion = max of M over the 3x3 blocks around the pixel's block (bilinear between blocks)
 *     M      = max over the block's pixels of max(smoothstep(threshold, threshold + range, |dL_block|),
 *                                                 smoothstep(2.5 threshold, 2.5 threshold + range, |dL_pixel|))
 *
 * dL is the change since the previous frame of the BT.601 luma of the INPUT frame, in display values
 * (see `toDisplay`): L_block averages the 2x2 pixels a pixel starts, which halves sensor noise, so
 * that small changes of smooth areas count; L_pixel is the pixel's own, with a higher threshold, so
 * that fine texture moving (which a block average can hide) counts too. The output changes wherever
 * the network saw a change, and the network sees the frame at its inference size: a block of
 * `motionBlock` output pixels (NstStylizeChain sets it to the output/inference size ratio) is moving
 * if any of its pixels changed, and the blocks next to it count too, so the smoothing also stops
 * where the network's receptive field reaches past the changed pixels.
 * With the defaults, sensor noise up to about 0.03 per channel (8/255) stays below the thresholds.
 *
 * Passes per update (`updateBefore`, which three calls before drawing a material that uses the node,
 * once per frame of the renderer's animation loop: `NodeUpdateType.FRAME`, like three's
 * AfterImageNode): luma (both kinds, explicit texel loads, so the input's own filter settings and
 * type do not matter), motion per block, its spread to the neighbouring blocks, blend, at the size
 * of the target being drawn (the drawing buffer's when that is the canvas). The first three need
 * only the input: `measureMotion()` draws them before the stylised frame exists, so that the GPU
 * works on them while the network runs. With `smoothing` 0 only the blend runs, and it reads
 * nothing but the stylised frame. State: the smoothed colour (8 bits, or half float for a canvas
 * that sRGB-encodes) and the lumas (8 bits), each a pair of render targets swapped once per update. `reset()` makes the next update output
 * styled_t unchanged. The result (the node's value, or `getTextureNode()` for passes that read
 * texels) is a working-space colour, alpha 1.
 *
 * It extends `Node`, as three's own passes do in the three.js it is built for (0.187), where
 * `TempNode` is deprecated and warns when constructed.
 */
export class TemporalSmoothingNode extends Node<'vec4'> {
  static get type(): string {
    return 'TemporalSmoothingNode';
  }

  /** The stylised colour, evaluated per output pixel (any node that reads `uv()`, e.g. a texture node). */
  styledNode: Node<'vec4'>;
  /** The input frame the network saw, at output resolution: the source of the motion measure. */
  inputNode: TextureNode;
  /** 0: no smoothing; towards 1: longer memory where the input is still. */
  readonly smoothing = uniform(DEFAULT_SMOOTHING);
  /** Change of 2x2-block luma (0..1) below which a pixel counts as still (2.5 times that for a single pixel's luma); set it above the sensor noise. Default 0.04. */
  readonly motionThreshold = uniform(DEFAULT_MOTION_THRESHOLD);
  /** Luma change above the threshold at which a pixel counts as fully moving. */
  readonly motionRange = uniform(DEFAULT_MOTION_RANGE);

  private readonly _historyValid = uniform(0);
  /** The luma history holds the previous frame's (not after a frame drawn with smoothing 0). */
  private _lumaHistoryValid = false;
  /** What `measureMotion()` has drawn of the frame that the next blend draws. */
  private _lumaMeasured = false;
  private _motionMeasured = false;
  private readonly _block = uniform(DEFAULT_MOTION_BLOCK, 'int');
  private readonly _blockTexel = uniform(new Vector2(1, 1));
  private _motionBlock = DEFAULT_MOTION_BLOCK;
  private _width = 1;
  private _height = 1;
  private _readRT: RenderTarget;
  private _writeRT: RenderTarget;
  private readonly _historyNode: TextureNode;
  /** The latest result, for whoever reads the node (builds this node where it is read). */
  private readonly _textureNode: TextureNode;
  private _lumaReadRT: RenderTarget;
  private _lumaWriteRT: RenderTarget;
  private readonly _lumaNowNode: TextureNode;
  private readonly _lumaPrevNode: TextureNode;
  private readonly _motionRT: RenderTarget;
  private readonly _motionNode: TextureNode;
  /** The motion of each block and its 8 neighbours (the blend reads one bilinear sample of it). */
  private readonly _spreadRT: RenderTarget;
  private readonly _spreadNode: TextureNode;
  private _lumaPass: FullScreenPass | null = null;
  /** Whether the luma pass sRGB-encodes (built for the renderer's outputColorSpace, again when that changes). */
  private _lumaPassEncodes = false;
  private _motionPass: FullScreenPass | null = null;
  private _spreadPass: FullScreenPass | null = null;
  private _pass: FullScreenPass | null = null;

  constructor(styledNode: Node<'vec4'>, inputNode: TextureNode, smoothing: number = DEFAULT_SMOOTHING) {
    super('vec4');
    this.styledNode = styledNode;
    this.inputNode = inputNode;
    this.smoothing.value = smoothing;
    [this._readRT, this._writeRT] = TemporalSmoothingNode._historyTargets(HalfFloatType);
    this._historyNode = texture(this._readRT.texture);
    this._textureNode = passResultTexture(this, this._readRT.texture);
    // Lumas (0..1) and motion (a blend weight, 0..1) in eight bits, which a software GPU reads and
    // writes faster: the steps (1/255) are a tenth of the motion threshold.
    this._lumaReadRT = TemporalSmoothingNode._makeTarget('TemporalSmoothingNode.lumaPrevious');
    this._lumaWriteRT = TemporalSmoothingNode._makeTarget('TemporalSmoothingNode.luma');
    this._lumaNowNode = texture(this._lumaWriteRT.texture);
    this._lumaPrevNode = texture(this._lumaReadRT.texture);
    this._motionRT = TemporalSmoothingNode._makeTarget('TemporalSmoothingNode.motion');
    this._motionNode = texture(this._motionRT.texture);
    this._spreadRT = TemporalSmoothingNode._makeTarget('TemporalSmoothingNode.motionSpread');
    this._spreadNode = texture(this._spreadRT.texture);
    this.updateBeforeType = NodeUpdateType.FRAME;
  }

  private static _makeTarget(name: string, type: TextureDataType = UnsignedByteType): RenderTarget {
    const target = new RenderTarget(1, 1, { depthBuffer: false, type });
    target.texture.name = name;
    return target;
  }

  /** The pair of smoothed-colour targets (read: the history, write: this step's result). */
  private static _historyTargets(type: TextureDataType): [RenderTarget, RenderTarget] {
    return [TemporalSmoothingNode._makeTarget('TemporalSmoothingNode.history', type), TemporalSmoothingNode._makeTarget('TemporalSmoothingNode.result', type)];
  }

  /** The latest result as a texture node (what three's passes offer to passes that read texels). */
  getTextureNode(): TextureNode {
    return this._textureNode;
  }

  /** Size of the output and of the history, in pixels. Resizing clears the history. */
  setSize(width: number, height: number): void {
    if (this._width === width && this._height === height) return;
    this._width = width;
    this._height = height;
    for (const target of [this._readRT, this._writeRT, this._lumaReadRT, this._lumaWriteRT]) target.setSize(width, height);
    this._sizeMotion();
    this.reset();
    this._lumaHistoryValid = false;
    this._lumaMeasured = false;
    this._motionMeasured = false;
  }

  /**
   * Side of the square of output pixels that share one motion value (1..16); about the number of
   * output pixels per pixel of the network's input. Default 2.
   */
  get motionBlock(): number {
    return this._motionBlock;
  }

  set motionBlock(value: number) {
    if (!Number.isInteger(value) || value < 1 || value > MAX_MOTION_BLOCK) {
      throw new RangeError(`TemporalSmoothingNode.motionBlock must be an integer from 1 to ${MAX_MOTION_BLOCK}; got ${String(value)}.`);
    }
    if (value === this._motionBlock) return;
    this._motionBlock = value;
    this._sizeMotion();
    this._motionMeasured = false;
  }

  private _sizeMotion(): void {
    const block = this._motionBlock;
    const [width, height] = [Math.ceil(this._width / block), Math.ceil(this._height / block)];
    this._motionRT.setSize(width, height);
    this._spreadRT.setSize(width, height);
    this._block.value = block;
    this._blockTexel.value.set(1 / width, 1 / height);
  }

  /**
   * The history keeps the precision of what the canvas shows: eight bits where the canvas shows
   * the working-space values as they are (the element's raw pipeline; `drawToCanvas` copies the
   * canvas into it), half float where they are sRGB-encoded for display (linear values in eight
   * bits would band in the shadows). In eight bits a still picture settles within
   * (0.5/255) / (1 - smoothing) of the stylised frames (1/255 at the default 0.5), below a
   * network's frame-to-frame flicker. A change of precision clears the history.
   */
  private _useHistoryPrecision(type: TextureDataType): void {
    if (this._readRT.texture.type === type) return;
    this._readRT.dispose();
    this._writeRT.dispose();
    [this._readRT, this._writeRT] = TemporalSmoothingNode._historyTargets(type);
    for (const target of [this._readRT, this._writeRT]) target.setSize(this._width, this._height);
    this.reset();
  }

  /** Forget the history: the next update outputs the stylised frame as it is. */
  reset(): void {
    this._historyValid.value = 0;
  }

  /**
   * The first half of the next smoothing step, which needs only the input (`inputNode`'s texture
   * as it is now, a new frame): its luma, and its motion since the last step, at the size set by
   * `setSize`. The next update uses this instead of measuring itself; calling it as soon as the
   * input frame is there lets the GPU work on it while the stylised frame is being made.
   */
  measureMotion(renderer: Renderer): void {
    this._lumaMeasured = false;
    this._motionMeasured = false;
    this._measure(renderer);
  }

  /** What `measureMotion()` draws, less what it has drawn for this frame already. */
  private _measure(renderer: Renderer): void {
    // With smoothing 0 nothing reads the motion (and the next frame has no luma to compare with).
    if (this.smoothing.value === 0) return;
    // Motion against a luma history that is not the previous frame's would be wrong: blend none of it.
    if (!this._lumaHistoryValid) this.reset();
    if (!this._lumaMeasured) {
      const encode = displayEncodingOf(renderer) === 1;
      if (this._lumaPass && this._lumaPassEncodes !== encode) {
        this._lumaPass.dispose();
        this._lumaPass = null;
      }
      this._lumaPass ??= new FullScreenPass('TemporalSmoothing.luma', this._buildLumaFragment(encode));
      this._lumaPassEncodes = encode;
      this._lumaPass.render(renderer, this._lumaWriteRT);
      this._lumaMeasured = true;
    }
    // Again when the motion block changed since (it follows the stylised frame's size).
    if (!this._motionMeasured) {
      this._motionPass ??= new FullScreenPass('TemporalSmoothing.motion', Fn(() => this._motionFragment())());
      this._spreadPass ??= new FullScreenPass('TemporalSmoothing.motionSpread', Fn(() => this._spreadFragment())());
      this._lumaNowNode.value = this._lumaWriteRT.texture;
      this._lumaPrevNode.value = this._lumaReadRT.texture;
      this._motionPass.render(renderer, this._motionRT);
      this._spreadPass.render(renderer, this._spreadRT);
      this._motionMeasured = true;
    }
  }

  /** One smoothing step, at the size of the target being drawn. */
  override updateBefore(frame: NodeFrame): undefined {
    const renderer = frame.renderer as Renderer;
    this._step(renderer, renderer.getRenderTarget() ?? renderer.getDrawingBufferSize(_size), false);
    return undefined;
  }

  /**
   * One smoothing step drawn straight into the renderer's canvas and copied from there into the
   * history, for a caller that would only draw the result into the canvas: it saves that pass.
   * Where the canvas cannot be copied (see `canCopyCanvas`: WebGPU, or a canvas that shows other
   * values than a pass draws), draws nothing and returns false.
   */
  drawToCanvas(renderer: Renderer): boolean {
    if (!canCopyCanvas(renderer)) return false;
    this._step(renderer, renderer.getDrawingBufferSize(_size), true);
    return true;
  }

  private _step(renderer: Renderer, size: { width: number; height: number }, intoCanvas: boolean): void {
    this._useHistoryPrecision(displayEncodingOf(renderer) === 1 ? HalfFloatType : UnsignedByteType);
    this.setSize(size.width, size.height);
    this._measure(renderer);
    this._pass ??= new FullScreenPass('TemporalSmoothing', Fn(() => this._blendFragment())());
    this._historyNode.value = this._readRT.texture;
    if (intoCanvas) {
      this._pass.render(renderer, null);
      copyCanvasTo(renderer, this._writeRT);
    } else {
      this._pass.render(renderer, this._writeRT);
    }
    [this._readRT, this._writeRT] = [this._writeRT, this._readRT];
    if (this._lumaMeasured) [this._lumaReadRT, this._lumaWriteRT] = [this._lumaWriteRT, this._lumaReadRT];
    this._textureNode.value = this._readRT.texture;
    this._historyValid.value = 1;
    this._lumaHistoryValid = this._lumaMeasured;
    this._lumaMeasured = false;
    this._motionMeasured = false;
  }

  override setup(): TextureNode {
    return this._textureNode;
  }

  /**
   * Luma of the input in display values (sRGB-encoded where `encode`): r = the pixel's own, g = the
   * mean of the 2x2 block it starts (explicit texel loads, so the input's filter settings and type
   * do not matter).
   */
  private _buildLumaFragment(encode: boolean): Node<'vec4'> {
    const size = texelSize(this.inputNode);
    const pixel = floor(uv().mul(size));
    const last = size.sub(1);
    const lumaAt = (dx: number, dy: number): Node<'float'> => {
      const texel = this.inputNode.load(ivec2(min(pixel.add(vec2(dx, dy)), last))) as unknown as Node<'vec4'>;
      return luma(toDisplay(texel, encode).rgb);
    };
    const own = lumaAt(0, 0);
    const block = own.add(lumaAt(1, 0)).add(lumaAt(0, 1)).add(lumaAt(1, 1)).mul(0.25);
    return vec4(own, block, 0, 1);
  }

  /** Motion of one block: the largest per-pixel motion among its pixels (a loop over the block). */
  private _motionFragment(): Node<'vec4'> {
    const origin = floor(uv().div(this._blockTexel)).mul(float(this._block));
    const last = texelSize(this._lumaNowNode).sub(1);
    const threshold = this.motionThreshold;
    const fineThreshold = threshold.mul(FINE_THRESHOLD_FACTOR);
    const motion = float(0).toVar();
    Loop({ type: 'int', start: 0, end: this._block }, { type: 'int', start: 0, end: this._block }, ({ i, j }) => {
      const pixel = ivec2(min(origin.add(vec2(float(j), float(i))), last));
      const change = abs(this._lumaNowNode.load(pixel).sub(this._lumaPrevNode.load(pixel)));
      const coarse = smoothstep(threshold, threshold.add(this.motionRange), change.g);
      const fine = smoothstep(fineThreshold, fineThreshold.add(this.motionRange), change.r);
      motion.assign(max(motion, max(coarse, fine)));
    });
    return vec4(motion, 0, 0, 1);
  }

  /** Motion of a block's 3x3 neighbourhood (explicit loads, clamped at the edges). */
  private _spreadFragment(): Node<'vec4'> {
    const block = floor(uv().div(this._blockTexel));
    const last = texelSize(this._motionNode).sub(1);
    const motion = float(0).toVar();
    for (const dy of [-1, 0, 1]) {
      for (const dx of [-1, 0, 1]) {
        const neighbour = ivec2(min(max(block.add(vec2(dx, dy)), vec2(0)), last));
        motion.assign(max(motion, this._motionNode.load(neighbour).r));
      }
    }
    return vec4(motion, 0, 0, 1);
  }

  /**
   * The blend. Motion and history are read only where the history counts (`smoothing` and
   * `historyValid` are uniforms, so the branch is the same for every pixel and a GPU skips its
   * reads); the history is at this pass's size, so a texel load reads it.
   */
  private _blendFragment(): Node<'vec4'> {
    const color = this.styledNode.rgb.toVar();
    const historyWeight = this.smoothing.mul(this._historyValid);
    If(historyWeight.greaterThan(0), () => {
      const motion = this._spreadNode.sample(uv()).r;
      const history = this._historyNode.load(ivec2(floor(uv().mul(texelSize(this._historyNode))))).rgb;
      color.assign(mix(color, history, historyWeight.mul(float(1).sub(motion))));
    });
    return vec4(color, 1);
  }

  override dispose(): void {
    super.dispose();
    this._readRT.dispose();
    this._writeRT.dispose();
    this._lumaReadRT.dispose();
    this._lumaWriteRT.dispose();
    this._motionRT.dispose();
    this._spreadRT.dispose();
    this._lumaPass?.dispose();
    this._motionPass?.dispose();
    this._spreadPass?.dispose();
    this._pass?.dispose();
  }
}

/**
 * Motion-adaptive temporal smoothing of `styled` driven by the change of `input` (see
 * {@link TemporalSmoothingNode}): it steps once per frame of the renderer's animation loop, at the
 * size of the target drawn, like three's `afterImage`.
 */
export const temporalSmoothing = (styled: Node<'vec4'>, input: Node<'vec4'>, smoothing: number = DEFAULT_SMOOTHING): TemporalSmoothingNode =>
  nodeObject(new TemporalSmoothingNode(nodeObject(styled), textureOf(input), smoothing));
