// NstStylizeChain on synthetic frames, on WebGPU (render targets only) and WebGL2: strength,
// resampling of any styled texture type, orientation, colour matching, and no shader rebuilds.
import { expect } from 'chai';
import { ExternalTexture, FloatType, NoColorSpace, NodeMaterial, QuadMesh, RGBAFormat, SRGBColorSpace } from 'three/webgpu';
import type { WebGPURenderer } from 'three/webgpu';
import { texture, vec4 } from 'three/tsl';
import { NstStylizeChain } from '../../shaders/src/index.js';
import {
  BACKENDS, HEIGHT, STYLED_HEIGHT, STYLED_WIDTH, WIDTH,
  channelStats, disposeAll, floatTarget, makePicture, maxAbsDiff, meanYuv, pictureTexture, random,
  gaussian, readPicture, resample, stylise, useChainFixture, warmScene,
} from './shaders-support.js';
import type { Picture, TextureType } from './shaders-support.js';

/**
 * A float32 RGBA texture made with the backend's own API, outside three (rows in data order), the
 * way tfjs's GPU backends hand over a tensor.
 */
function rawFloatTexture(renderer: WebGPURenderer, width: number, height: number, data: Float32Array<ArrayBuffer>): WebGLTexture | GPUTexture {
  const backend = renderer.backend as unknown as { isWebGLBackend?: boolean; gl: WebGL2RenderingContext; device: GPUDevice };
  if (backend.isWebGLBackend) {
    const gl = backend.gl;
    const texture = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_2D, texture);
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 4);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA32F, width, height, 0, gl.RGBA, gl.FLOAT, data);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
    gl.bindTexture(gl.TEXTURE_2D, null);
    renderer.resetState(); // three's cached GL state is stale after raw GL calls
    return texture;
  }
  const texture = backend.device.createTexture({
    size: [width, height],
    format: 'rgba32float',
    usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_DST,
  });
  backend.device.queue.writeTexture({ texture }, data, { bytesPerRow: width * 16 }, [width, height]);
  return texture;
}

/** Settings each single-frame render starts from: the defaults, without smoothing. */
const DEFAULTS = { strength: 1, smoothing: 0, colorMatch: 0, colorMatchMode: 'luminance', flipStyledY: false } as const;

/** The 8-bit values a picture has once uploaded as an UnsignedByte texture. */
function quantised(picture: Picture): Picture {
  return { ...picture, data: Float32Array.from(picture.data, (v) => Math.round(v * 255) / 255) };
}

function encodeSRGB(picture: Picture): Picture {
  const oetf = (v: number): number => (v <= 0.0031308 ? 12.92 * v : 1.055 * Math.pow(v, 1 / 2.4) - 0.055);
  return { ...picture, data: Float32Array.from(picture.data, (v, i) => (i % 4 === 3 ? v : oetf(Math.max(0, v)))) };
}

for (const backend of BACKENDS) {
  describe(`NstStylizeChain on ${backend.name}`, function () {
    const fx = useChainFixture(backend.forceWebGL);
    const original = warmScene();
    const styled = stylise(original, 0, gaussian(random(1)));
    const styledUp = resample(quantised(styled), WIDTH, HEIGHT);

    /** Renders one frame with the given settings (smoothing 0 unless given) and reads it back. */
    async function renderOnce(
      settings: Partial<Pick<NstStylizeChain, 'strength' | 'smoothing' | 'colorMatch' | 'colorMatchMode' | 'flipStyledY'>>,
      frames: { styled?: Picture; original?: Picture; styledType?: TextureType; originalType?: TextureType } = {},
    ): Promise<Picture> {
      Object.assign(fx.chain, DEFAULTS, settings);
      fx.chain.reset();
      const styledTexture = pictureTexture(frames.styled ?? styled, frames.styledType);
      const originalTexture = pictureTexture(frames.original ?? original, frames.originalType);
      const target = floatTarget();
      fx.chain.render(styledTexture, originalTexture, target);
      const output = await readPicture(fx.renderer, target);
      disposeAll(styledTexture, originalTexture, target);
      return output;
    }

    it('shows the same picture as a plain textured quad when strength is 0 (orientation and values)', async () => {
      const originalTexture = pictureTexture(original);
      const target = floatTarget();
      const material = new NodeMaterial();
      material.fragmentNode = texture(originalTexture);
      fx.renderer.setRenderTarget(target);
      new QuadMesh(material).render(fx.renderer);
      fx.renderer.setRenderTarget(null);
      const plain = await readPicture(fx.renderer, target);
      expect(maxAbsDiff(plain, quantised(original)), 'read-back helper puts rows in data order').to.be.lessThan(1e-6);
      const shown = await renderOnce({ strength: 0, smoothing: 0.8, colorMatch: 1 });
      expect(maxAbsDiff(shown, quantised(original))).to.be.lessThan(1e-6);
      disposeAll(originalTexture, target);
      material.dispose();
    });

    it('resamples the half-size styled frame bilinearly, from UnsignedByte and Float textures alike', async () => {
      const fromBytes = await renderOnce({});
      const fromFloats = await renderOnce({}, { styled: quantised(styled), styledType: 'float' });
      // The history is half float: about 3 significant decimal digits.
      expect(maxAbsDiff(fromBytes, styledUp), 'UnsignedByte').to.be.lessThan(2e-3);
      expect(maxAbsDiff(fromFloats, styledUp), 'Float').to.be.lessThan(2e-3);
    });

    it('mixes with the original by strength', async () => {
      const shown = await renderOnce({ strength: 0.25 });
      const expected = makePicture(WIDTH, HEIGHT, (x, y) => {
        const i = (y * WIDTH + x) * 4;
        const o = quantised(original).data;
        return [0, 1, 2].map((c) => 0.75 * o[i + c] + 0.25 * styledUp.data[i + c]) as [number, number, number];
      });
      expect(maxAbsDiff(shown, expected)).to.be.lessThan(2e-3);
    });

    it('reads a styled frame stored in the other row order when flipStyledY is set', async () => {
      const flipped = makePicture(STYLED_WIDTH, STYLED_HEIGHT, (x, y) => {
        const i = ((STYLED_HEIGHT - 1 - y) * STYLED_WIDTH + x) * 4;
        return [styled.data[i], styled.data[i + 1], styled.data[i + 2]];
      });
      const shown = await renderOnce({ flipStyledY: true }, { styled: flipped });
      expect(maxAbsDiff(shown, styledUp)).to.be.lessThan(2e-3);
    });

    it('takes the styled frame as an ExternalTexture (a raw float GPU texture, as tfjs hands it over)', async () => {
      const data = quantised(styled).data as Float32Array<ArrayBuffer>;
      const external = new ExternalTexture(rawFloatTexture(fx.renderer, STYLED_WIDTH, STYLED_HEIGHT, data));
      external.type = FloatType;
      external.format = RGBAFormat;
      external.colorSpace = NoColorSpace;
      Object.assign(fx.chain, DEFAULTS);
      fx.chain.reset();
      const [originalTexture, target] = [pictureTexture(original), floatTarget()];
      fx.chain.render(external, originalTexture, target);
      expect(maxAbsDiff(await readPicture(fx.renderer, target), styledUp)).to.be.lessThan(2e-3);
      disposeAll(originalTexture, target, external);
    });

    it('takes a Float original frame as well as an UnsignedByte one', async () => {
      const settings = { strength: 0.7, smoothing: 0.5, colorMatch: 1, colorMatchMode: 'mean-variance' } as const;
      const fromBytes = await renderOnce(settings);
      const fromFloats = await renderOnce(settings, { original: quantised(original), originalType: 'float' });
      expect(maxAbsDiff(fromFloats, fromBytes)).to.be.lessThan(2e-3);
    });

    it('luminance mode keeps the photo\'s chroma where the style is near black or white', async () => {
      // A saturated photo, and a style of hard black/white blocks: Y + the photo's chroma is out of
      // gamut in most pixels.
      const photo = makePicture(WIDTH, HEIGHT, (x, y) => {
        const hue = (x / WIDTH) * 6;
        const k = (n: number): number => Math.max(0, Math.min(1, Math.abs(((hue + n) % 6) - 3) - 1));
        return [0.15 + 0.7 * k(0), 0.15 + 0.7 * k(4), 0.15 + 0.7 * k(2) * (y / HEIGHT)];
      });
      const blocks = makePicture(STYLED_WIDTH, STYLED_HEIGHT, (x, y) => (((x >> 2) + (y >> 2)) % 2 ? [0.97, 0.95, 0.99] : [0.03, 0.02, 0.05]));
      const shown = await renderOnce({ colorMatch: 1, colorMatchMode: 'luminance' }, { styled: blocks, original: photo });
      const [, u, v] = meanYuv(shown);
      const [, uo, vo] = meanYuv(quantised(photo));
      // What clipping each channel instead would give: the scene is demanding.
      const clipped = makePicture(WIDTH, HEIGHT, (x, y) => {
        const i = (y * WIDTH + x) * 4;
        const [r, g, b] = quantised(photo).data.subarray(i, i + 3);
        const ys = meanYuv({ width: 1, height: 1, data: resample(quantised(blocks), WIDTH, HEIGHT).data.subarray(i, i + 4) })[0];
        const yo = 0.299 * r + 0.587 * g + 0.114 * b;
        return [r - yo + ys, g - yo + ys, b - yo + ys];
      });
      const [, uc, vc] = meanYuv(clipped);
      console.log(`${backend.name} luminance on extremes: chroma error U ${Math.abs(u - uo).toFixed(4)} V ${Math.abs(v - vo).toFixed(4)} (channel clipping: U ${Math.abs(uc - uo).toFixed(4)} V ${Math.abs(vc - vo).toFixed(4)})`);
      expect(Math.max(Math.abs(uc - uo), Math.abs(vc - vo)), 'clipping channels would miss').to.be.greaterThan(0.02);
      expect(Math.abs(u - uo), 'U').to.be.lessThan(0.005);
      expect(Math.abs(v - vo), 'V').to.be.lessThan(0.005);
    });

    it('colorMatch 0 keeps the style\'s colours, far from the photo\'s', async () => {
      const shown = await renderOnce({ colorMatch: 0, colorMatchMode: 'mean-variance' });
      const [, u, v] = meanYuv(shown);
      const [, uo, vo] = meanYuv(original);
      expect(Math.max(Math.abs(u - uo), Math.abs(v - vo))).to.be.greaterThan(0.1);
    });

    it('colorMatch 1, luminance: the photo\'s mean chroma within 0.02, the style\'s luma', async () => {
      const shown = await renderOnce({ colorMatch: 1, colorMatchMode: 'luminance' });
      const [y, u, v] = meanYuv(shown);
      const [, uo, vo] = meanYuv(original);
      const [ys] = meanYuv(styledUp);
      console.log(`${backend.name} luminance: chroma error U ${Math.abs(u - uo).toFixed(4)} V ${Math.abs(v - vo).toFixed(4)}, luma error ${Math.abs(y - ys).toFixed(4)}`);
      expect(Math.abs(u - uo), 'U').to.be.lessThan(0.02);
      expect(Math.abs(v - vo), 'V').to.be.lessThan(0.02);
      expect(Math.abs(y - ys), 'Y').to.be.lessThan(0.02);
    });

    it('colorMatch 1, mean-variance: the photo\'s channel means (chroma within 0.02) and spreads', async () => {
      const shown = await renderOnce({ colorMatch: 1, colorMatchMode: 'mean-variance' });
      const [, u, v] = meanYuv(shown);
      const [, uo, vo] = meanYuv(original);
      const [got, want] = [channelStats(shown), channelStats(quantised(original))];
      console.log(`${backend.name} mean-variance: chroma error U ${Math.abs(u - uo).toFixed(4)} V ${Math.abs(v - vo).toFixed(4)}; std ${got.std.map((s) => s.toFixed(3))} vs ${want.std.map((s) => s.toFixed(3))}`);
      expect(Math.abs(u - uo), 'U').to.be.lessThan(0.02);
      expect(Math.abs(v - vo), 'V').to.be.lessThan(0.02);
      for (let c = 0; c < 3; c++) {
        expect(Math.abs(got.mean[c] - want.mean[c]), `mean of channel ${c}`).to.be.lessThan(0.02);
        expect(got.std[c] / want.std[c], `std of channel ${c}`).to.be.within(0.85, 1.15);
      }
    });

    it('colorMatch 0.5 lands halfway between the style\'s and the photo\'s chroma', async () => {
      const [, u0, v0] = meanYuv(await renderOnce({ colorMatch: 0, colorMatchMode: 'mean-variance' }));
      const [, u1, v1] = meanYuv(await renderOnce({ colorMatch: 1, colorMatchMode: 'mean-variance' }));
      const [, uh, vh] = meanYuv(await renderOnce({ colorMatch: 0.5, colorMatchMode: 'mean-variance' }));
      expect(Math.abs(uh - (u0 + u1) / 2)).to.be.lessThan(0.01);
      expect(Math.abs(vh - (v0 + v1) / 2)).to.be.lessThan(0.01);
    });

    it('measures colour on sRGB-encoded values when the renderer outputs sRGB', async () => {
      fx.renderer.outputColorSpace = SRGBColorSpace;
      try {
        Object.assign(fx.chain, DEFAULTS, { strength: 0 });
        fx.chain.reset();
        const [styledTexture, originalTexture, target] = [pictureTexture(styled), pictureTexture(original), floatTarget()];
        styledTexture.colorSpace = SRGBColorSpace;
        originalTexture.colorSpace = SRGBColorSpace;
        fx.chain.render(styledTexture, originalTexture, target);
        // A render target holds working (linear) values; the canvas would show them encoded.
        const shownOriginal = encodeSRGB(await readPicture(fx.renderer, target));
        expect(maxAbsDiff(shownOriginal, quantised(original)), 'strength 0').to.be.lessThan(2e-3);
        Object.assign(fx.chain, { strength: 1, colorMatch: 1, colorMatchMode: 'mean-variance' });
        fx.chain.render(styledTexture, originalTexture, target);
        const [, u, v] = meanYuv(encodeSRGB(await readPicture(fx.renderer, target)));
        const [, uo, vo] = meanYuv(original);
        expect(Math.abs(u - uo), 'U').to.be.lessThan(0.02);
        expect(Math.abs(v - vo), 'V').to.be.lessThan(0.02);
        disposeAll(styledTexture, originalTexture, target);
      } finally {
        fx.renderer.outputColorSpace = 'srgb-linear';
      }
    });

    it('changes parameters without building a shader', async () => {
      const [styledTexture, originalTexture, target] = [pictureTexture(styled), pictureTexture(original), floatTarget()];
      // Every pass built (if no test before did), the output's variant for each part on or off too.
      for (const parts of [{ colorMatch: 1, strength: 1 }, { colorMatch: 1, strength: 0.5 }, { colorMatch: 0, strength: 0.5 }, { colorMatch: 0, strength: 1 }]) {
        Object.assign(fx.chain, DEFAULTS, { colorMatchMode: 'mean-variance', smoothing: 0.5 }, parts);
        fx.chain.render(styledTexture, originalTexture, target);
      }
      await readPicture(fx.renderer, target);
      // Count every shader program the renderer compiles from here on.
      // (Info.createProgram is called for each compiled stage; @types/three does not declare it.)
      let compiled = 0;
      const info = fx.renderer.info as unknown as { createProgram(program: unknown): void };
      const createProgram = info.createProgram.bind(info);
      info.createProgram = (program: unknown) => {
        compiled++;
        createProgram(program);
      };
      // The counter sees a compile: a material with a shader no one has built yet.
      const fresh = new NodeMaterial();
      fresh.fragmentNode = vec4(Math.random(), 0.5, 0.25, 1);
      fx.renderer.setRenderTarget(target);
      new QuadMesh(fresh).render(fx.renderer);
      fx.renderer.setRenderTarget(null);
      expect(compiled, 'a new shader is counted').to.be.greaterThan(0);
      compiled = 0;
      const settings = [
        { strength: 0.3, smoothing: 0.9, colorMatch: 0.2, colorMatchMode: 'luminance', flipStyledY: true },
        { strength: 1, smoothing: 0, colorMatch: 0, colorMatchMode: 'mean-variance', flipStyledY: false },
        { strength: 0, smoothing: 0.5, colorMatch: 1, colorMatchMode: 'luminance', flipStyledY: false },
      ];
      // A smaller styled frame too: the motion blocks (a loop bound and a target size) follow it.
      const smallStyled = pictureTexture(stylise(stylise(original, 0, gaussian(random(2))), 0, gaussian(random(3))));
      const outputs: Picture[] = [];
      for (const [index, setting] of settings.entries()) {
        Object.assign(fx.chain, setting);
        fx.chain.temporalSmoothing.motionThreshold.value = Math.random() * 0.1;
        fx.chain.reset();
        fx.chain.render(index === 2 ? smallStyled : styledTexture, originalTexture, target);
        outputs.push(await readPicture(fx.renderer, target));
        fx.chain.render(index === 2 ? smallStyled : styledTexture, originalTexture, target);
      }
      expect(fx.chain.temporalSmoothing.motionBlock, 'the small styled frame changed the motion block').to.equal(4);
      info.createProgram = createProgram;
      smallStyled.dispose();
      expect(compiled, 'programs compiled after parameter changes').to.equal(0);
      expect(maxAbsDiff(outputs[0], outputs[1]), 'the settings took effect').to.be.greaterThan(0.05);
      fresh.dispose();
      disposeAll(styledTexture, originalTexture, target);
    });

    it('sizes the motion blocks by the output/inference size ratio', async () => {
      const target = floatTarget();
      for (const [width, block] of [[32, 2], [16, 4], [64, 2], [4, 16]] as const) {
        const small = makePicture(width, (width * 3) / 4, () => [0.5, 0.5, 0.5]);
        const [styledTexture, originalTexture] = [pictureTexture(small), pictureTexture(original)];
        fx.chain.render(styledTexture, originalTexture, target);
        expect(fx.chain.temporalSmoothing.motionBlock, `styled width ${width}`).to.equal(block);
        disposeAll(styledTexture, originalTexture);
      }
      target.dispose();
    });

    it('leaves the renderer\'s render target as it found it (its passes draw while the output draws)', async () => {
      const [styledTexture, originalTexture, target, before] = [pictureTexture(styled), pictureTexture(original), floatTarget(), floatTarget()];
      Object.assign(fx.chain, DEFAULTS, { smoothing: 0.5, colorMatch: 1, colorMatchMode: 'mean-variance' });
      fx.renderer.setRenderTarget(before);
      fx.chain.render(styledTexture, originalTexture, target);
      const after = fx.renderer.getRenderTarget();
      fx.renderer.setRenderTarget(null);
      expect(after === before, 'the render target set before render()').to.equal(true);
      disposeAll(styledTexture, originalTexture, target, before);
    });

    it('names the parameter and its range when given a bad value', () => {
      // Each setter throws before it changes anything, so the shared chain is left as it was.
      expect(() => (fx.chain.strength = 2)).to.throw(RangeError, /strength must be a number from 0 to 1; got 2/);
      expect(() => (fx.chain.smoothing = Number.NaN)).to.throw(RangeError, /smoothing/);
      expect(() => (fx.chain.colorMatchMode = 'lab' as never)).to.throw(TypeError, /'luminance', 'mean-variance'; got lab/);
      expect(() => fx.chain.setSize(0, 10)).to.throw(RangeError, /setSize/);
      expect(() => (fx.chain.temporalSmoothing.motionBlock = 0)).to.throw(RangeError, /motionBlock must be an integer from 1 to 16; got 0/);
    });
  });
}
