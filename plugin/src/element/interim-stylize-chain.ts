/**
 * INTERIM, to be replaced by `NstStylizeChain` from nst-video-shaders as soon as it lands: shows
 * the styled frame blended with the original by `strength`, with no temporal smoothing and no
 * colour matching (`smoothing` and `colorMatch` are stored but have no effect yet).
 */
import { MeshBasicNodeMaterial, QuadMesh, Texture, type RenderTarget, type WebGPURenderer } from 'three/webgpu';
import { mix, texture, uniform, uv } from 'three/tsl';

export class InterimStylizeChain {
  smoothing = 0;
  colorMatch = 0;
  colorMatchMode: 'luminance' | 'mean-variance' = 'mean-variance';
  private readonly _strength = uniform(1);
  private readonly _styled = texture(new Texture());
  private readonly _original = texture(new Texture());
  private readonly _material = new MeshBasicNodeMaterial();
  private readonly _quad: QuadMesh;

  constructor(private readonly _renderer: WebGPURenderer) {
    this._material.colorNode = mix(this._original.sample(uv()), this._styled.sample(uv()), this._strength);
    this._quad = new QuadMesh(this._material);
  }

  get strength(): number {
    return this._strength.value;
  }

  set strength(value: number) {
    this._strength.value = value;
  }

  setSize(_width: number, _height: number): void {}

  render(styled: Texture, original: Texture, target: RenderTarget | null = null): void {
    this._styled.value = styled;
    this._original.value = original;
    this._renderer.setRenderTarget(target);
    this._quad.render(this._renderer);
  }

  reset(): void {}

  dispose(): void {
    this._material.dispose();
  }
}
