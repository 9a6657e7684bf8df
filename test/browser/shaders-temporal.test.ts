// Temporal smoothing on synthetic video, on WebGPU (render targets only) and WebGL2: flicker removed
// where the picture is still, no ghost trails where it moves, reset, and the nodes used on their own.
import { expect } from 'chai';
import { LinearSRGBColorSpace, NodeMaterial, QuadMesh, WebGPURenderer } from 'three/webgpu';
import type { DataTexture } from 'three/webgpu';
import { texture, vec4 } from 'three/tsl';
import { DEFAULT_MOTION_THRESHOLD, NstStylizeChain, colorMatch, temporalSmoothing } from '../../shaders/src/index.js';
import { canCopyCanvas } from '../../shaders/src/canvas-copy.js';
import {
  BACKENDS, HEIGHT, WIDTH,
  channelStats, disposeAll, floatTarget, gaussian, makePicture, maxAbsDiff, meanAbsDiff, meanYuv,
  pictureTexture, random, readPicture, resample, stylise, updateTexture, useChainFixture, warmScene, withNoise,
} from './shaders-support.js';
import type { Picture } from './shaders-support.js';

const SENSOR_NOISE = 0.02; // per channel, about 5/255
/** For the still scene: 8/255, a little above the element's picture test (uniform +-12/255, sigma 0.027). */
const STILL_SENSOR_NOISE = 0.03;
const NETWORK_FLICKER = 0.03; // the stand-in network's own per-frame noise
const FRAMES = 12;
const WARM_UP = 4; // frames before the metrics start (the history fills up)

interface Clip {
  /** Noise-free input frames (to know where the picture moves). */
  readonly clean: Picture[];
  readonly originals: Picture[];
  readonly styled: Picture[];
}

function makeClip(scene: (frame: number) => Picture, seed: number, sensorNoise = SENSOR_NOISE): Clip {
  const normal = gaussian(random(seed));
  const clean = Array.from({ length: FRAMES }, (_, t) => scene(t));
  const originals = clean.map((picture) => withNoise(picture, sensorNoise, normal));
  const styled = originals.map((picture) => stylise(picture, NETWORK_FLICKER, normal));
  return { clean, originals, styled };
}

/** A still background and a colourful checkered square moving right by 3 pixels a frame. */
function panningScene(frame: number): Picture {
  const background = warmScene();
  const left = 2 + 3 * frame;
  return makePicture(WIDTH, HEIGHT, (x, y) => {
    if (x >= left && x < left + 14 && y >= 17 && y < 31) {
      return ((x - left) >> 1) % 2 === ((y - 17) >> 1) % 2 ? [0.1, 0.8, 0.9] : [0.9, 0.2, 0.5];
    }
    const i = (y * WIDTH + x) * 4;
    return [background.data[i], background.data[i + 1], background.data[i + 2]];
  });
}

/** Waits until the renderer's animation loop has started a new frame (two ticks to be sure). */
async function nextFrame(): Promise<void> {
  for (let i = 0; i < 2; i++) await new Promise((resolve) => requestAnimationFrame(resolve));
}

for (const backend of BACKENDS) {
  describe(`temporal smoothing on ${backend.name}`, function () {
    const fx = useChainFixture(backend.forceWebGL);

    /** Runs a clip through a fresh chain (strength 1, no colour match) and returns every output frame. */
    async function runChain(clip: Clip, setup: (subject: NstStylizeChain) => void): Promise<Picture[]> {
      fx.chain.smoothing = 0;
      fx.chain.temporalSmoothing.motionThreshold.value = DEFAULT_MOTION_THRESHOLD;
      fx.chain.reset();
      setup(fx.chain);
      const [styledTexture, originalTexture, target] = [pictureTexture(clip.styled[0]), pictureTexture(clip.originals[0]), floatTarget()];
      const outputs: Picture[] = [];
      for (let t = 0; t < FRAMES; t++) {
        updateTexture(styledTexture, clip.styled[t]);
        updateTexture(originalTexture, clip.originals[t]);
        fx.chain.render(styledTexture, originalTexture, target);
        outputs.push(await readPicture(fx.renderer, target));
      }
      disposeAll(styledTexture, originalTexture, target);
      return outputs;
    }

    /** Mean absolute frame-to-frame change of the output after the warm-up. */
    function flicker(outputs: Picture[]): number {
      let sum = 0;
      for (let t = WARM_UP; t < FRAMES; t++) sum += meanAbsDiff(outputs[t], outputs[t - 1]);
      return sum / (FRAMES - WARM_UP);
    }

    it(`halves (or better) the frame-to-frame change of a still scene with sensor noise ${STILL_SENSOR_NOISE} with smoothing 0.8`, async () => {
      const clip = makeClip(() => warmScene(), 7, STILL_SENSOR_NOISE);
      const perFrame = flicker(await runChain(clip, (subject) => (subject.smoothing = 0)));
      const smoothed = flicker(await runChain(clip, (subject) => (subject.smoothing = 0.8)));
      console.log(`${backend.name} still scene, noise ${STILL_SENSOR_NOISE}: flicker ${perFrame.toFixed(4)} (smoothing 0) -> ${smoothed.toFixed(4)} (0.8), ratio ${(smoothed / perFrame).toFixed(3)}`);
      expect(perFrame, 'the stand-in network flickers').to.be.greaterThan(0.01);
      expect(smoothed / perFrame).to.be.at.most(0.5);
    });

    it('leaves no ghost trail where the picture moves: as close to the per-frame output there as where it is still', async () => {
      const clip = makeClip(panningScene, 11);
      const perFrame = await runChain(clip, (subject) => (subject.smoothing = 0));
      const smoothed = await runChain(clip, (subject) => (subject.smoothing = 0.8));
      // The same blend with motion detection switched off (threshold above any change): a plain
      // exponential average, which must fail the same comparison, or the comparison proves nothing.
      const unaware = await runChain(clip, (subject) => {
        subject.smoothing = 0.8;
        subject.temporalSmoothing.motionThreshold.value = 1;
      });
      const changed = (t: number, x: number, y: number): boolean => {
        const i = (y * WIDTH + x) * 4;
        return [0, 1, 2].some((c) => Math.abs(clip.clean[t].data[i + c] - clip.clean[t - 1].data[i + c]) > 0.02);
      };
      // Moving: the input changed at this pixel in one of the last three frames (covers trails).
      const moving = (t: number) => (x: number, y: number) => [t, t - 1, t - 2].some((s) => changed(s, x, y));
      // Still: rows the square never reaches, 3 pixels of margin.
      const still = (_x: number, y: number): boolean => y < 14 || y >= 34;
      const errors = (outputs: Picture[]): { moving: number; still: number } => {
        let [m, s] = [0, 0];
        for (let t = WARM_UP; t < FRAMES; t++) {
          m += meanAbsDiff(outputs[t], perFrame[t], moving(t));
          s += meanAbsDiff(outputs[t], perFrame[t], still);
        }
        return { moving: m / (FRAMES - WARM_UP), still: s / (FRAMES - WARM_UP) };
      };
      const adaptive = errors(smoothed);
      const plain = errors(unaware);
      console.log(
        `${backend.name} panning: |smoothed - per-frame| moving ${adaptive.moving.toFixed(4)}, still ${adaptive.still.toFixed(4)}; ` +
          `without motion detection moving ${plain.moving.toFixed(4)}, still ${plain.still.toFixed(4)}`,
      );
      expect(adaptive.still, 'smoothing acts on the still part').to.be.greaterThan(0.005);
      expect(adaptive.moving).to.be.at.most(adaptive.still);
      expect(adaptive.moving, 'with margin').to.be.at.most(0.5 * adaptive.still);
      expect(plain.moving, 'a plain average ghosts: it fails the same comparison, by far').to.be.greaterThan(1.5 * plain.still);
    });

    it('outputs the styled frame unblended on the first frame after reset()', async () => {
      const clip = makeClip(panningScene, 3);
      const perFrame = await runChain(clip, (subject) => (subject.smoothing = 0));
      fx.chain.smoothing = 0.9;
      fx.chain.reset();
      const textures = clip.styled.slice(0, 4).map((styled, t) => [pictureTexture(styled), pictureTexture(clip.originals[t])] as const);
      const target = floatTarget();
      for (const [styled, original] of textures.slice(0, 3)) fx.chain.render(styled, original, target);
      const blended = await readPicture(fx.renderer, target);
      expect(maxAbsDiff(blended, perFrame[2]), 'blends before the reset').to.be.greaterThan(0.02);
      fx.chain.reset();
      fx.chain.render(textures[3][0], textures[3][1], target);
      expect(maxAbsDiff(await readPicture(fx.renderer, target), perFrame[3])).to.be.lessThan(2e-3);
      disposeAll(target, ...textures.flat());
    });

    it('temporalSmoothing() and colorMatch() work on their own in a node material', async () => {
      // The canvas keeps its default 300x150: the passes take the size of the target drawn.
      const clip = makeClip(() => warmScene(), 5);
      const fullSize = clip.styled.map((styled) => {
        // The network stand-in at full resolution, so that no resampling is involved.
        return makePicture(WIDTH, HEIGHT, (x, y) => {
          const i = ((y >> 1) * styled.width + (x >> 1)) * 4;
          return [styled.data[i], styled.data[i + 1], styled.data[i + 2]];
        });
      });
      const [styledTexture, originalTexture, target] = [pictureTexture(fullSize[0]), pictureTexture(clip.originals[0]), floatTarget()];
      const smoothed = temporalSmoothing(texture(styledTexture), texture(originalTexture), 0.8);
      const material = new NodeMaterial();
      material.fragmentNode = vec4(smoothed.rgb, 1);
      const quad = new QuadMesh(material);
      fx.chain.smoothing = 0.8;
      fx.chain.temporalSmoothing.motionThreshold.value = DEFAULT_MOTION_THRESHOLD;
      fx.chain.reset();
      const chainTarget = floatTarget();
      const frames: Picture[] = [];
      for (let t = 0; t < 6; t++) {
        updateTexture(styledTexture as DataTexture, fullSize[t]);
        updateTexture(originalTexture as DataTexture, clip.originals[t]);
        // A node graph's passes step once per frame of the renderer's animation loop.
        await nextFrame();
        fx.renderer.setRenderTarget(target);
        quad.render(fx.renderer);
        fx.renderer.setRenderTarget(null);
        fx.chain.render(styledTexture, originalTexture, chainTarget);
        frames.push(await readPicture(fx.renderer, target));
        expect(maxAbsDiff(frames[t], await readPicture(fx.renderer, chainTarget)), `frame ${t}: node = chain`).to.be.lessThan(2e-3);
      }
      expect(maxAbsDiff(frames[5], fullSize[5]), 'it smooths').to.be.greaterThan(0.02);

      // Composed: colour matching of the smoothed picture, as the chain does.
      const matched = colorMatch(smoothed, texture(originalTexture), 1, 'mean-variance');
      material.fragmentNode = vec4(matched.rgb, 1);
      material.needsUpdate = true;
      await nextFrame();
      fx.renderer.setRenderTarget(target);
      quad.render(fx.renderer);
      fx.renderer.setRenderTarget(null);
      const output = await readPicture(fx.renderer, target);
      const [, u, v] = meanYuv(output);
      const [, uo, vo] = meanYuv(clip.originals[5]);
      expect(Math.abs(u - uo), 'U').to.be.lessThan(0.02);
      expect(Math.abs(v - vo), 'V').to.be.lessThan(0.02);
      expect(channelStats(output).std[0] / channelStats(clip.originals[5]).std[0]).to.be.within(0.85, 1.15);
      smoothed.dispose();
      matched.dispose();
      material.dispose();
      disposeAll(styledTexture, originalTexture, target, chainTarget);
    });
  });
}

describe('temporal smoothing drawn straight into a WebGL2 canvas', function () {
  /** Reads the canvas now (its drawing buffer is cleared once the task ends), rows top first. */
  function readCanvas(gl: WebGL2RenderingContext): Picture {
    const [width, height] = [gl.drawingBufferWidth, gl.drawingBufferHeight];
    const raw = new Uint8Array(width * height * 4);
    gl.readPixels(0, 0, width, height, gl.RGBA, gl.UNSIGNED_BYTE, raw);
    const data = new Float32Array(raw.length);
    const row = width * 4;
    for (let y = 0; y < height; y++) for (let i = 0; i < row; i++) data[(height - 1 - y) * row + i] = raw[y * row + i] / 255;
    return { width, height, data };
  }

  it('shows, frame by frame, what the two-pass path draws into a target (history copied from a canvas without alpha)', async () => {
    // The element's canvas: its own WebGL2 context without alpha, raw values throughout.
    const canvas = document.createElement('canvas');
    const gl = canvas.getContext('webgl2', { alpha: false, antialias: false, depth: false, stencil: false })!;
    const renderer = new WebGPURenderer({ canvas, context: gl, forceWebGL: true, antialias: false, alpha: false });
    await renderer.init();
    renderer.outputColorSpace = LinearSRGBColorSpace;
    renderer.setPixelRatio(1);
    renderer.setSize(WIDTH, HEIGHT, false);
    expect(canCopyCanvas(renderer), 'the one-pass path applies').to.equal(true);
    const [onCanvas, intoTarget] = [new NstStylizeChain(renderer), new NstStylizeChain(renderer)];
    for (const chain of [onCanvas, intoTarget]) {
      chain.setSize(WIDTH, HEIGHT);
      chain.smoothing = 0.8;
    }
    const clip = makeClip(panningScene, 13);
    const [styledTexture, originalTexture, target] = [pictureTexture(clip.styled[0]), pictureTexture(clip.originals[0]), floatTarget()];
    let smoothed = 0;
    for (let t = 0; t < FRAMES; t++) {
      updateTexture(styledTexture, clip.styled[t]);
      updateTexture(originalTexture, clip.originals[t]);
      onCanvas.render(styledTexture, originalTexture, null);
      const shown = readCanvas(gl);
      intoTarget.render(styledTexture, originalTexture, target);
      const expected = await readPicture(renderer, target);
      // The canvas rounds to 8 bits what the target keeps in float; the histories are the same.
      expect(maxAbsDiff(shown, expected), `frame ${t}`).to.be.at.most(1 / 255 + 1e-6);
      smoothed = Math.max(smoothed, meanAbsDiff(shown, resample(clip.styled[t], WIDTH, HEIGHT)));
    }
    expect(smoothed, 'the canvas shows smoothed frames, not the styled ones').to.be.greaterThan(0.005);
    onCanvas.dispose();
    intoTarget.dispose();
    disposeAll(styledTexture, originalTexture, target);
    renderer.dispose();
  });
});
