// One full-screen pass: a node material drawn by a QuadMesh into a render target, with the
// renderer's state saved and restored around it (the way three's own post-processing nodes draw).
import { NoBlending, NodeMaterial, QuadMesh, RendererUtils } from 'three/webgpu';
import type { Node, RenderTarget, Renderer } from 'three/webgpu';

/** A full-screen quad with its own opaque node material; `fragment` is built once. */
export class FullScreenPass {
  readonly material: NodeMaterial;
  private readonly _quad: QuadMesh;
  // One per pass, not one per module: a pass may draw while another is drawing (a node's
  // updateBefore runs inside the draw of the material that uses it), and each must restore its own.
  private _rendererState = {} as RendererUtils.RendererState;

  constructor(name: string, fragment: Node) {
    this.material = new NodeMaterial();
    this.material.name = name;
    this.material.blending = NoBlending;
    this.material.depthTest = false;
    this.material.depthWrite = false;
    this.material.fragmentNode = fragment;
    this._quad = new QuadMesh(this.material);
    this._quad.name = name;
  }

  /** Draws into `target` (null: the renderer's canvas), leaving the renderer's state as it was. */
  render(renderer: Renderer, target: RenderTarget | null): void {
    this._rendererState = RendererUtils.resetRendererState(renderer, this._rendererState);
    // The quad covers every pixel with an opaque colour: clearing first would only write them twice.
    renderer.autoClear = false;
    renderer.setRenderTarget(target);
    this._quad.render(renderer);
    RendererUtils.restoreRendererState(renderer, this._rendererState);
  }

  dispose(): void {
    this.material.dispose();
  }
}
