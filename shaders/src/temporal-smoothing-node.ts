// Motion-adaptive temporal smoothing: removes the style network's flicker where the picture is
// still and follows the network where the INPUT moves, so moving things leave no ghost trail.
import { HalfFloatType, Node, NodeUpdateType, RenderTarget, Vector2 } from 'three/webgpu';
import type { NodeFrame, Renderer, Texture, TextureNode } from 'three/webgpu';
import { abs, convertToTexture, float, mix, nodeObject, smoothstep, texture, uniform, uv, vec2, vec4 } from 'three/tsl';
import { displayEncodingOf, luma, toDisplay } from './color-spaces.js';
import { FullScreenPass } from './render-pass.js';

/** Defaults of the tunable uniforms (values on 0..1 sRGB-encoded luma, radius in output pixels). */
export const DEFAULT_SMOOTHING = 0.5;
export const DEFAULT_MOTION_THRESHOLD = 0.04;
export const DEFAULT_MOTION_RANGE = 0.06;
export const DEFAULT_MOTION_RADIUS = 2;

const _size = /*@__PURE__*/ new Vector2();

/**
 * Exponential moving average of the stylised frames whose weight collapses where the input moves:
 *
 *     out_t = mix(styled_t, out_{t-1}, smoothing * (1 - motion) * historyValid)
 *     motion = smoothstep(threshold, threshold + range, D)
 *     D      = mean over a 3x3 grid of taps `radius` pixels apart of |Y_t - Y_{t-1}|
 *
 * Y is the BT.601 luma of the sRGB-encoded input frame. Averaging nine absolute differences keeps
 * sensor noise (whose mean |difference| is about 1.13 sigma of luma noise, with a spread of a third
 * of that) below `threshold`, while the tap spacing widens the "moving" area by `radius` pixels around
 * every change, because the network's output changes a little beyond the pixels whose input changed.
 * The previous frame's luma is kept in the history's alpha channel, so one pair of half-float render
 * targets (swapped once per update) holds all the state; `reset()` makes the next update output
 * styled_t unchanged.
 *
 * The output (`texture`, or the node's value in a node graph) is a working-space colour with
 * alpha = the input's luma; use `.rgb`.
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
  /** Mean luma change (0..1) below which a pixel counts as still; set it above the sensor noise. */
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
    if (this._pass === null) this._pass = new FullScreenPass('TemporalSmoothing', this._buildFragment());
    this._historyNode.value = this._readRT.texture;
    this._pass.render(renderer, this._writeRT);
    [this._readRT, this._writeRT] = [this._writeRT, this._readRT];
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

  private _buildFragment(): Node<'vec4'> {
    const coord = uv();
    const styled = this.styledNode;
    const history = this._historyNode.sample(coord);
    const lumaNow = (at: Node<'vec2'>): Node<'float'> => luma(toDisplay(this.inputNode.sample(at), this.displayEncoding).rgb);
    let difference: Node<'float'> = float(0);
    for (const dy of [-1, 0, 1]) {
      for (const dx of [-1, 0, 1]) {
        const at = coord.add(vec2(dx, dy).mul(this._texelSize).mul(this.motionRadius));
        difference = difference.add(abs(lumaNow(at).sub(this._historyNode.sample(at).a)));
      }
    }
    const motion = smoothstep(this.motionThreshold, this.motionThreshold.add(this.motionRange), difference.div(9));
    const weight = this.smoothing.mul(float(1).sub(motion)).mul(this._historyValid);
    return vec4(mix(styled.rgb, history.rgb, weight), lumaNow(coord));
  }

  override dispose(): void {
    super.dispose();
    this._readRT.dispose();
    this._writeRT.dispose();
    this._pass?.dispose();
  }
}

/**
 * Motion-adaptive temporal smoothing of `styled` driven by the change of `input` (see
 * {@link TemporalSmoothingNode}). In a node graph the node renders once per frame at the drawing
 * buffer's size.
 */
export const temporalSmoothing = (styled: Node, input: Node, smoothing: number = DEFAULT_SMOOTHING): TemporalSmoothingNode =>
  new TemporalSmoothingNode(nodeObject(styled) as Node<'vec4'>, convertToTexture(input) as unknown as TextureNode, smoothing);
