// The WebGPU zero-copy route of <nst-video>, on this machine's software adapter (which cannot
// present to a canvas, so the chain draws into a render target): three.js on tfjs's GPUDevice, the
// network output handed over as a 'webgpu-buffer' frame and copied into an rgba32float texture on
// the GPU. It must draw the same picture as a 'readback' frame (RGBA8) through the same
// NstStylizeChain.
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import { ExternalTexture, FloatType, LinearSRGBColorSpace, RenderTarget, UnsignedByteType, WebGPURenderer, type Texture } from 'three/webgpu';
import { NstStylizeChain } from 'nst-video-shaders';
import { loadStyleModel } from '../../plugin/src/index.js';
import { StyledFrameTexture } from '../../plugin/src/element/gpu-presenter.js';
import { SharedWebGpuDevice, tfjsWebGpuDevice } from '../../plugin/src/element/shared-webgpu-device.js';
import type { StyledPixels } from '../../plugin/src/element/styled-frame.js';
import { MODEL_URL } from './element-helpers.js';

// 36 px wide: rows of the GPU buffer need padding to 256 bytes (16 texels), which the copy must skip.
const [WIDTH, HEIGHT] = [36, 20];

describe('<nst-video> WebGPU zero-copy route', function () {
  it('a webgpu-buffer frame (tfjs output copied to an rgba32float texture on the shared device) draws the same picture as a readback frame', async () => {
    const model = await loadStyleModel(MODEL_URL, { backend: 'webgpu' });
    const device = tfjsWebGpuDevice();
    expect(device, 'tfjs runs on WebGPU').to.exist;
    const renderer = new WebGPURenderer({ canvas: document.createElement('canvas'), device: device! });
    await renderer.init();
    expect((renderer.backend as unknown as { device: GPUDevice }).device, 'three uses tfjs\'s device').to.equal(device);
    renderer.outputColorSpace = LinearSRGBColorSpace;
    // One chain per route: a chain's pipelines are built for the texture type it first sees
    // (RGBA8 is filterable, rgba32float is not on this adapter).
    const makeChain = () => {
      const chain = new NstStylizeChain(renderer);
      chain.setSize(WIDTH, HEIGHT);
      [chain.strength, chain.smoothing, chain.colorMatch] = [1, 0, 0];
      return chain;
    };

    const values: number[] = [];
    for (let y = 0; y < HEIGHT; y++) for (let x = 0; x < WIDTH; x++) values.push(x * 7, y * 12, (x * y) % 255);
    const input = tf.tensor3d(values, [HEIGHT, WIDTH, 3]);
    const rgbaInput = new Uint8Array(WIDTH * HEIGHT * 4);
    values.forEach((value, i) => (rgbaInput[Math.floor(i / 3) * 4 + (i % 3)] = value));
    for (let i = 3; i < rgbaInput.length; i += 4) rgbaInput[i] = 255;
    const pixelsFrame = (data: Uint8Array): StyledPixels => ({ kind: 'readback', data, width: WIDTH, height: HEIGHT, release: () => {} });
    const originalTexture = new StyledFrameTexture(renderer);
    const original = originalTexture.update(pixelsFrame(rgbaInput));

    const draw = async (styled: Texture) => {
      const chain = makeChain();
      const target = new RenderTarget(WIDTH, HEIGHT, { type: UnsignedByteType });
      chain.render(styled, original, target);
      const pixels = (await renderer.readRenderTargetPixelsAsync(target, 0, 0, WIDTH, HEIGHT)) as Uint8Array;
      target.dispose();
      chain.dispose();
      return pixels;
    };

    // Readback route: the output read to the CPU as RGBA8.
    const readBack = await model.toRgbaPixels(model.stylizeTensor(input));
    const readbackTexture = new StyledFrameTexture(renderer);
    const viaCpu = await draw(readbackTexture.update(pixelsFrame(new Uint8Array(readBack.data.buffer))));
    // Zero-copy route.
    const shared = new SharedWebGpuDevice(device!);
    expect(shared.active).to.equal(true);
    const before = tf.memory().numTensors;
    const frame = shared.frame(() => model.stylizeTensor(input));
    expect(frame.kind).to.equal('webgpu-buffer');
    const gpuTexture = new StyledFrameTexture(renderer);
    const texture = gpuTexture.update(frame);
    expect(texture.type).to.equal(FloatType);
    expect(((texture as ExternalTexture).sourceTexture as GPUTexture).format).to.equal('rgba32float');
    const viaGpu = await draw(texture);
    frame.release();
    expect(tf.memory().numTensors, 'no tensor left behind once the frame is released').to.equal(before);

    let maxDiff = 0;
    let sum = 0;
    for (let i = 0; i < viaCpu.length; i++) {
      const diff = Math.abs(viaCpu[i] - viaGpu[i]);
      maxDiff = Math.max(maxDiff, diff);
      sum += diff;
    }
    console.log(`WebGPU zero-copy vs readback through the chain: max |diff| ${maxDiff}, mean ${(sum / viaCpu.length).toFixed(3)} (0..255)`);
    let spread = 0;
    for (let i = 0; i < viaGpu.length; i += 4) spread = Math.max(spread, Math.abs(viaGpu[i] - viaGpu[0]));
    expect(spread, 'a picture, not a flat colour').to.be.greaterThan(10);
    expect(maxDiff).to.be.at.most(1);

    for (const target of [originalTexture, readbackTexture, gpuTexture]) target.dispose();
    input.dispose();
    model.dispose();
    renderer.dispose();
  });
});
