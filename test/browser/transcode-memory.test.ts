// Memory stays bounded on a long input: transcodeVideo() streams the frames (a few decoded at a
// time), so the JS heap and the tfjs tensors stay flat however long the file is. Only the output
// file grows (it is built in memory): its bytes and the muxer's index of its frames.
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import { loadStyleModel, transcodeVideo, type BrowserStyleModel } from '../../plugin/src/index.js';
import { MODEL_URL, WASM_PATHS, liveHeapMiB } from './element-helpers.js';

/** LONG_CLIP_FRAMES frames of 64x48 (test/support/video-probe.ts). */
const CLIP = '/test/generated/clips/long-64x48.mp4';
/** Frames before the figures count: shaders, the encoder and tfjs's allocations settle first (the heap rose 3 MiB from frame 300 to 600 here, then 1 MiB in 2400 frames). */
const WARM_UP = 600;
const SAMPLE_EVERY = 300;
/**
 * How far the live JS heap (after gc()) may rise after the warm-up, MiB. Some rise is the file
 * being built in memory: its bytes and the muxer's per-frame index (about 0.45 KiB a frame here);
 * a leak of one 64x48 RGBA frame a frame would be 28 MiB over the 2400 frames (1.1 and 1.4 MiB
 * rose in two runs here).
 */
const MAX_HEAP_RISE_MIB = 3;

interface Sample {
  frames: number;
  heapMiB: number;
  tensors: number;
  tensorMiB: number;
}

describe('transcodeVideo on a long input', function () {
  let model: BrowserStyleModel;
  before(async () => {
    model = await loadStyleModel(MODEL_URL, { backend: 'wasm', wasmPaths: WASM_PATHS });
  });
  after(() => model?.dispose());

  it(`the whole long clip: the JS heap and the tfjs tensors stay flat after ${WARM_UP} frames`, async () => {
    const samples: Sample[] = [];
    let total = 0;
    const tensorsBefore = tf.memory().numTensors;
    const started = performance.now();
    const blob = await transcodeVideo(CLIP, {
      model, inferenceSize: 16, smoothing: 0.5,
      onProgress: ({ frames, totalFrames }) => {
        total = totalFrames;
        if (frames % SAMPLE_EVERY !== 0) return;
        const { numTensors, numBytes } = tf.memory();
        samples.push({ frames, heapMiB: liveHeapMiB(), tensors: numTensors, tensorMiB: numBytes / 2 ** 20 });
      },
    });
    const seconds = (performance.now() - started) / 1000;
    console.log(`${total} frames of 64x48 at inference 16 px in ${seconds.toFixed(1)} s (${(total / seconds).toFixed(0)} fps), output ${(blob.size / 1024).toFixed(0)} KiB`);
    for (const s of samples) console.log(`  frame ${s.frames}: JS heap ${s.heapMiB.toFixed(2)} MiB, ${s.tensors} tensors, ${s.tensorMiB.toFixed(3)} MiB of tensors`);
    expect(total, 'a long clip').to.be.at.least(WARM_UP + 4 * SAMPLE_EVERY);
    expect(samples.length).to.equal(Math.floor(total / SAMPLE_EVERY));
    const settled = samples.filter((s) => s.frames >= WARM_UP);
    const first = settled[0];
    for (const s of settled) {
      expect(s.tensors, `tensors at frame ${s.frames} (${first.tensors} at ${first.frames})`).to.equal(first.tensors);
      expect(s.tensorMiB, `tensor bytes at frame ${s.frames}`).to.equal(first.tensorMiB);
    }
    const heapRise = Math.max(...settled.map((s) => s.heapMiB)) - first.heapMiB;
    console.log(`  JS heap rise after frame ${first.frames}: ${heapRise.toFixed(2)} MiB (at most ${MAX_HEAP_RISE_MIB})`);
    expect(heapRise, 'JS heap rise after the warm-up, MiB').to.be.at.most(MAX_HEAP_RISE_MIB);
    expect(tf.memory().numTensors, 'tensors left behind').to.equal(tensorsBefore);
  });
});
