// Motion-adaptive temporal smoothing: removes the style network's flicker where the picture is
// still and follows the network where the INPUT moves, so moving things leave no ghost trail.
import { HalfFloatType, Node, NodeUpdateType, RenderTarget, Vector2 } from 'three/webgpu';
import type { NodeFrame, Renderer, Texture, TextureNode } from 'three/webgpu';
import { abs, convertToTexture, float, floor, ivec2, max, min, mix, nodeObject, smoothstep, texture, uniform, uv, vec2, vec4 } from 'three/tsl';
import { displayEncodingOf, luma, toDisplay } from './color-spaces.js';
import { FullScreenPass } from './render-pass.js';
import { texelSize } from './sampling.js';

/** Defaults of the tunable uniforms (values on 0..1 sRGB-encoded luma, radius in output pixels). */
export const DEFAULT_SMOOTHING = 0.5;
export const DEFAULT_MOTION_THRESHOLD = 0.04;
export const DEFAULT_MOTION_RANGE = 0.05;
export const DEFAULT_MOTION_RADIUS = 2;

/** A single pixel's luma must change this many times `motionThreshold` to count as motion. */
const FINE_THRESHOLD_FACTOR = 2.5;

const _size = /*@__PURE__*/ new Vector2();

/**
 * Exponential moving average of the stylised frames whose weight collapses where the input moves:
 *
 *     out_t  = mix(styled_t, out_{t-1}, smoothing * (1 - motion) * historyValid)
 *     motion = max(smoothstep(threshold, threshold + range, D_block),
 *                  smoothstep(2.5 threshold, 2.5 threshold + range, D_pixel))
 *     D_x    = max over a 3x3 grid of taps `radius` output pixels apart of |L_x,t - L_x,t-1|
 *
 * L is the BT.601 luma of the input frame in display values (see `toDisplay`): L_block averages a
 * 2x2 block, which halves sensor noise, so that small changes of smooth areas count; L_pixel is the
 * pixel's own, with a higher threshold, so that fine texture moving (which a block average can hide)
 * counts too. A first pass writes both (four texel loads per pixel, so the input's own filter
 * settings and type do not matter). Taking the maximum over the taps spreads "moving" `radius`
 * pixels around every change, because the network's output changes a little beyond the pixels
 * whose input changed. With the defaults, sensor noise up to about 0.03 per channel (8/255) stays
 * below both thresholds.
 *
 * State: the smoothed colour and the two lumas, each a pair of half-float render targets swapped
 * once per update. `reset()` makes the next update output styled_t unchanged.
 * The result (`texture`, or the node's value in a node graph) is a working-space colour, alpha 1.
 */
export class TemporalSmoothingNode extends Node {
  static get type(): string {
    return 'TemporalSmoothingNode';
  }

  /** The stylised colour, evaluated per output pixel (any node that reads `uv()`, e.g. a texture node). */
  styledNode: Node<'vec4'>;
  /** The input frame the network saw, at output resolution: the source of the motion measure. */
  inputNode: TextureNode;
  /** 0: no smoothing; towards 1: longer memory where the input is still. */
  readonly smoothing = uniform(DEFAULT_SMOOTHING);
  /** Change of 2x2-block luma (0..1) below which a pixel counts as still (2.5 times that for a single pixel's luma); set it above the sensor noise. */
  readonly motionThreshold = uniform(DEFAULT_MOTION_THRESHOLD);
  /** Luma change above the threshold at which a pixel counts as fully moving. */
  readonly motionRange = uniform(DEFAULT_MOTION_RANGE);
  /** Spacing of the 3x3 motion taps in output pixels. */
  readonly motionRadius = uniform(DEFAULT_MOTION_RADIUS);

  /** 1: measure motion on sRGB-encoded values (set from the renderer's outputColorSpace on each render). */
  readonly displayEncoding = uniform(0);

  private readonly _historyValid = uniform(0);
  private readonly _texelSize = uniform(new Vector2(1, 1));
  private _readRT: RenderTarget;
  private _writeRT: RenderTarget;
  private readonly _historyNode: TextureNode;
  private readonly _resultNode: TextureNode;
  private _lumaReadRT: RenderTarget;
  private _lumaWriteRT: RenderTarget;
  private readonly _lumaNowNode: TextureNode;
  private readonly _lumaPrevNode: TextureNode;
  private _lumaPass: FullScreenPass | null = null;
  private _pass: FullScreenPass | null = null;

  constructor(styledNode: Node<'vec4'>, inputNode: TextureNode, smoothing: number = DEFAULT_SMOOTHING) {
    super('vec4');
    this.styledNode = styledNode;
    this.inputNode = inputNode;
    this.smoothing.value = smoothing;
    this._readRT = TemporalSmoothingNode._makeTarget('TemporalSmoothingNode.history');
    this._writeRT = TemporalSmoothingNode._makeTarget('TemporalSmoothingNode.result');
    this._historyNode = texture(this._readRT.texture);
    this._resultNode = texture(this._readRT.texture);
    this._lumaReadRT = TemporalSmoothingNode._makeTarget('TemporalSmoothingNode.lumaPrevious');
    this._lumaWriteRT = TemporalSmoothingNode._makeTarget('TemporalSmoothingNode.luma');
    this._lumaNowNode = texture(this._lumaWriteRT.texture);
    this._lumaPrevNode = texture(this._lumaReadRT.texture);
    this.updateBeforeType = NodeUpdateType.FRAME;
  }

  private static _makeTarget(name: string): RenderTarget {
    const target = new RenderTarget(1, 1, { depthBuffer: false, type: HalfFloatType });
    target.texture.name = name;
    return target;
  }

  /** The latest result (valid after the first update). */
  get texture(): Texture {
    return this._readRT.texture;
  }

  /** Size of the output and of the history, in pixels. Resizing clears the history. */
  setSize(width: number, height: number): void {
    if (this._readRT.width === width && this._readRT.height === height) return;
    this._readRT.setSize(width, height);
    this._writeRT.setSize(width, height);
    this._lumaReadRT.setSize(width, height);
    this._lumaWriteRT.setSize(width, height);
    this._texelSize.value.set(1 / width, 1 / height);
    this.reset();
  }

  /** Forget the history: the next update outputs the stylised frame as it is. */
  reset(): void {
    this._historyValid.value = 0;
  }

  /** Renders one smoothing step (call once per new frame); the result is then `texture`. */
  render(renderer: Renderer): void {
    this.displayEncoding.value = displayEncodingOf(renderer);
    if (this._pass === null) {
      this._lumaPass = new FullScreenPass('TemporalSmoothing.luma', this._buildLumaFragment());
      this._pass = new FullScreenPass('TemporalSmoothing', this._buildFragment());
    }
    this._lumaPass!.render(renderer, this._lumaWriteRT);
    this._historyNode.value = this._readRT.texture;
    this._lumaNowNode.value = this._lumaWriteRT.texture;
    this._lumaPrevNode.value = this._lumaReadRT.texture;
    this._pass.render(renderer, this._writeRT);
    [this._readRT, this._writeRT] = [this._writeRT, this._readRT];
    [this._lumaReadRT, this._lumaWriteRT] = [this._lumaWriteRT, this._lumaReadRT];
    this._resultNode.value = this._readRT.texture;
    this._historyValid.value = 1;
  }

  override updateBefore(frame: NodeFrame): undefined {
    const renderer = frame.renderer as Renderer;
    renderer.getDrawingBufferSize(_size);
    this.setSize(_size.x, _size.y);
    this.render(renderer);
    return undefined;
  }

  override setup(): Node<'vec4'> {
    return this._resultNode;
  }

  /**
   * Luma of the input in display values: r = the pixel's own, g = the mean of the 2x2 block it
   * starts (explicit texel loads, so the input's filter settings and type do not matter).
   */
  private _buildLumaFragment(): Node<'vec4'> {
    const size = texelSize(this.inputNode);
    const pixel = floor(uv().mul(size));
    const last = size.sub(1);
    const lumaAt = (dx: number, dy: number): Node<'float'> => {
      const texel = this.inputNode.load(ivec2(min(pixel.add(vec2(dx, dy)), last))) as unknown as Node<'vec4'>;
      return luma(toDisplay(texel, this.displayEncoding).rgb);
    };
    const own = lumaAt(0, 0);
    const block = own.add(lumaAt(1, 0)).add(lumaAt(0, 1)).add(lumaAt(1, 1)).mul(0.25);
    return vec4(own, block, 0, 1);
  }

  private _buildFragment(): Node<'vec4'> {
    const coord = uv();
    let fine: Node<'float'> = float(0);
    let coarse: Node<'float'> = float(0);
    for (const dy of [-1, 0, 1]) {
      for (const dx of [-1, 0, 1]) {
        const at = coord.add(vec2(dx, dy).mul(this._texelSize).mul(this.motionRadius));
        const change = abs(this._lumaNowNode.sample(at).sub(this._lumaPrevNode.sample(at)));
        fine = max(fine, change.r);
        coarse = max(coarse, change.g);
      }
    }
    const threshold = this.motionThreshold;
    const fineThreshold = threshold.mul(FINE_THRESHOLD_FACTOR);
    const motion = max(
      smoothstep(threshold, threshold.add(this.motionRange), coarse),
      smoothstep(fineThreshold, fineThreshold.add(this.motionRange), fine),
    );
    const weight = this.smoothing.mul(float(1).sub(motion)).mul(this._historyValid);
    return vec4(mix(this.styledNode.rgb, this._historyNode.sample(coord).rgb, weight), 1);
  }

  override dispose(): void {
    super.dispose();
    this._readRT.dispose();
    this._writeRT.dispose();
    this._lumaReadRT.dispose();
    this._lumaWriteRT.dispose();
    this._lumaPass?.dispose();
    this._pass?.dispose();
  }
}

/**
 * Motion-adaptive temporal smoothing of `styled` driven by the change of `input` (see
 * {@link TemporalSmoothingNode}). In a node graph it steps once per frame of the renderer's
 * animation loop (three's `NodeUpdateType.FRAME`, like `afterImage`), at the drawing buffer's size;
 * call `render(renderer)` instead to step it yourself.
 */
export const temporalSmoothing = (styled: Node, input: Node, smoothing: number = DEFAULT_SMOOTHING): TemporalSmoothingNode & Node<'vec4'> =>
  new TemporalSmoothingNode(nodeObject(styled) as Node<'vec4'>, convertToTexture(input) as unknown as TextureNode, smoothing) as TemporalSmoothingNode & Node<'vec4'>;
