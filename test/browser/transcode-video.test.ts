// transcodeVideo(): whole files through the network and the shaders' chain, checked with ffprobe
// (a server command) on the written output: every frame, the duration, the sound, the style.
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import { executeServerCommand } from '@web/test-runner-commands';
import { NstTranscodeCanceledError, NstTranscodeError, loadStyleModel, transcodeVideo, type BrowserStyleModel, type TranscodeProgress, type TranscodeVideoOptions } from '../../plugin/src/index.js';
import { MODEL_URL, WASM_PATHS } from './element-helpers.js';

const CLIPS = '/test/generated/clips/';
/** The network sees 32 px: the tests check the pipeline, not the picture. */
const SIZE = 32;

interface ProbedStream {
  codec: string;
  frames: number;
  duration: number;
}
interface ProbeResult {
  output: { video: ProbedStream | null; audio: ProbedStream | null; duration: number };
  input: { video: ProbedStream | null; audio: ProbedStream | null; duration: number };
  outputFlicker: number;
  inputFlicker: number;
  differenceFromInput: number;
}

async function probe(blob: Blob, extension: string, input: string): Promise<ProbeResult> {
  const bytes = new Uint8Array(await blob.arrayBuffer());
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  const result = await executeServerCommand<ProbeResult, unknown>('nst-probe-transcode', { base64: btoa(binary), extension, input });
  if (!result) throw new Error('The nst-probe-transcode server command gave nothing (is ffprobe installed?)');
  return result;
}

async function fetchBlob(path: string, transform: (bytes: Uint8Array) => Uint8Array = (bytes) => bytes): Promise<Blob> {
  const response = await fetch(path);
  expect(response.ok, `${path} is served (made by test/support/video-probe.ts)`).to.equal(true);
  return new Blob([transform(new Uint8Array(await response.arrayBuffer())) as Uint8Array<ArrayBuffer>]);
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection, but the transcode succeeded');
}

describe('transcodeVideo', function () {
  let model: BrowserStyleModel;
  const options = (extra: Partial<TranscodeVideoOptions> = {}): TranscodeVideoOptions => ({ model, inferenceSize: SIZE, ...extra });

  before(async () => {
    model = await loadStyleModel(MODEL_URL, { backend: 'wasm', wasmPaths: WASM_PATHS });
  });

  after(() => model?.dispose());

  const cases = [
    { clip: 'pedestrians_3s.mp4', format: 'mp4', videoCodec: 'h264', audioCodec: 'aac', asUrl: false },
    { clip: 'tree_5s.webm', format: 'webm', videoCodec: 'vp9', audioCodec: 'opus', asUrl: true },
    { clip: 'testsrc_2s_noaudio.mp4', format: 'mp4', videoCodec: 'h264', audioCodec: null, asUrl: false },
  ];
  for (const { clip, format, videoCodec, audioCodec, asUrl } of cases) {
    it(`${clip} -> ${format}: every frame, the duration and the sound kept, each frame stylised`, async () => {
      const path = CLIPS + clip;
      const progress: TranscodeProgress[] = [];
      const started = performance.now();
      const blob = await transcodeVideo(asUrl ? path : await fetchBlob(path), options({ onProgress: (p) => progress.push(p) }));
      const seconds = (performance.now() - started) / 1000;
      expect(blob.type).to.contain(`video/${format}`);
      const { output, input, differenceFromInput } = await probe(blob, format, path);
      const frameDuration = input.video!.duration / input.video!.frames;
      console.log(
        `${clip}: ${output.video!.frames}/${input.video!.frames} frames, video ${output.video!.duration.toFixed(3)} s (input ${input.video!.duration.toFixed(3)} s), ` +
          `audio ${output.audio ? `${output.audio.codec} ${output.audio.duration.toFixed(3)} s` : 'none'} (input ${input.audio ? `${input.audio.codec} ${input.audio.duration.toFixed(3)} s` : 'none'}), ` +
          `difference from input ${differenceFromInput.toFixed(1)}/255, ${seconds.toFixed(1)} s, last progress ${JSON.stringify(progress.at(-1))}`,
      );
      expect(output.video!.codec).to.equal(videoCodec);
      expect(output.video!.frames, 'frames').to.equal(input.video!.frames);
      expect(Math.abs(output.video!.duration - input.video!.duration), 'video duration').to.be.at.most(frameDuration);
      if (audioCodec) {
        expect(output.audio, 'a sound track').to.not.equal(null);
        expect(input.audio!.codec).to.equal(audioCodec);
        expect(output.audio!.codec, 'the sound is copied, not re-encoded').to.equal(audioCodec);
        expect(Math.abs(output.audio!.duration - input.audio!.duration), 'audio duration').to.be.at.most(frameDuration);
      } else {
        expect(output.audio, 'no sound track from a silent input').to.equal(null);
      }
      expect(differenceFromInput, 'the frames are stylised (differ from the input)').to.be.greaterThan(10);
      expect(progress.length).to.equal(input.video!.frames);
      expect(progress.at(-1)).to.include({ frames: input.video!.frames, totalFrames: input.video!.frames, etaSeconds: 0 });
    });
  }

  it('re-encodes the sound to Opus where the container cannot hold it (AAC into WebM)', async () => {
    const path = CLIPS + 'pedestrians_3s.mp4';
    const blob = await transcodeVideo(await fetchBlob(path), options({ format: 'webm' }));
    const { output, input } = await probe(blob, 'webm', path);
    console.log(`pedestrians_3s.mp4 -> webm: ${output.video!.codec} ${output.video!.frames} frames, audio ${output.audio?.codec} ${output.audio?.duration.toFixed(3)} s (input aac ${input.audio!.duration.toFixed(3)} s)`);
    expect(output.video!.frames).to.equal(input.video!.frames);
    expect(output.audio!.codec).to.equal('opus');
    expect(Math.abs(output.audio!.duration - input.audio!.duration)).to.be.at.most(0.1);
  });

  it('a still scene with sensor noise flickers less with smoothing (default) than without', async () => {
    const path = CLIPS + 'still-noise.mp4';
    const input = await fetchBlob(path);
    const smoothed = await probe(await transcodeVideo(input, options()), 'mp4', path);
    const unsmoothed = await probe(await transcodeVideo(input, options({ smoothing: 0 })), 'mp4', path);
    console.log(
      `still-noise.mp4 flicker (mean |frame(t+1) - frame(t)| on 8x8 block means, 0..255): input ${smoothed.inputFlicker.toFixed(2)}, ` +
        `smoothing 0.5 (default) ${smoothed.outputFlicker.toFixed(2)}, smoothing 0 ${unsmoothed.outputFlicker.toFixed(2)}`,
    );
    expect(smoothed.output.video!.frames).to.equal(smoothed.input.video!.frames);
    expect(smoothed.outputFlicker).to.be.lessThan(unsmoothed.outputFlicker);
  });

  it('a model URL is loaded (and let go) by the transcode; a model that fails to load ends with model-load-failed', async () => {
    const path = CLIPS + 'testsrc_2s_noaudio.mp4';
    const blob = await transcodeVideo(await fetchBlob(path), { model: MODEL_URL, backend: 'wasm', wasmPaths: WASM_PATHS, inferenceSize: SIZE });
    expect((await probe(blob, 'mp4', path)).output.video!.frames).to.equal(60);
    const error = await rejection(transcodeVideo(await fetchBlob(path), { model: '/test/generated/models/slim-7-corrupt-shard/model.json', backend: 'wasm', wasmPaths: WASM_PATHS, inferenceSize: SIZE }));
    expect(error).to.be.instanceOf(NstTranscodeError);
    expect((error as NstTranscodeError).code).to.equal('model-load-failed');
    console.log(`model-load-failed: ${error.message}`);
  });

  it('without a model, the package\'s default style stylises every frame', async () => {
    const path = CLIPS + 'testsrc_2s_noaudio.mp4';
    const blob = await transcodeVideo(await fetchBlob(path), { backend: 'wasm', wasmPaths: WASM_PATHS, inferenceSize: SIZE });
    const { output, input, differenceFromInput } = await probe(blob, 'mp4', path);
    console.log(`default style: ${output.video!.frames}/${input.video!.frames} frames, difference from input ${differenceFromInput.toFixed(1)}/255`);
    expect(output.video!.frames).to.equal(input.video!.frames);
    expect(differenceFromInput, 'the frames are stylised (differ from the input)').to.be.greaterThan(10);
  });

  describe('bad input ends with its error code and no output', () => {
    const bad: { what: string; input: () => Promise<Blob>; code: string }[] = [
      { what: 'not a media file', input: async () => new Blob(['this is a text file, not a video\n'.repeat(100)], { type: 'text/plain' }), code: 'not-media' },
      { what: 'a truncated MP4 (index lost)', input: () => fetchBlob(CLIPS + 'pedestrians_3s.mp4', (b) => b.subarray(0, Math.floor(b.length * 0.6))), code: 'corrupt' },
      { what: 'a truncated WebM (its one cluster cut)', input: () => fetchBlob(CLIPS + 'tree_5s.webm', (b) => b.subarray(0, Math.floor(b.length * 0.5))), code: 'corrupt' },
      { what: 'a truncated MP4 (index first, half the frames lost)', input: () => fetchBlob(CLIPS + 'testsrc-faststart.mp4', (b) => b.subarray(0, Math.floor(b.length * 0.5))), code: 'corrupt' },
      { what: 'a file with no video track', input: () => fetchBlob(CLIPS + 'sound-only.webm'), code: 'no-video-track' },
      { what: 'an undecodable codec (HEVC)', input: () => fetchBlob(CLIPS + 'hevc.mp4'), code: 'undecodable-codec' },
      { what: 'a video track with zero frames', input: () => fetchBlob(CLIPS + 'zero-frames.webm'), code: 'no-frames' },
    ];
    for (const { what, input, code } of bad) {
      it(`${what}: ${code}`, async () => {
        const error = await rejection(transcodeVideo(await input(), options()));
        console.log(`${what}: ${error.name} ${(error as NstTranscodeError).code}: ${error.message}`);
        expect(error).to.be.instanceOf(NstTranscodeError);
        expect((error as NstTranscodeError).code).to.equal(code);
      });
    }

    it('bad options are TypeErrors that name the option', async () => {
      const blob = new Blob(['x']);
      for (const [extra, name] of [[{ smoothing: 2 }, 'options.smoothing'], [{ format: 'avi' }, 'options.format'], [{ inferenceSize: 0 }, 'options.inferenceSize'], [{ colorMatchMode: 'hue' }, 'options.colorMatchMode']] as const) {
        const error = await rejection(transcodeVideo(blob, options(extra as Partial<TranscodeVideoOptions>)));
        expect(error).to.be.instanceOf(TypeError);
        expect(error.message).to.contain(name);
      }
    });
  });

  it('cancelling rejects with NstTranscodeCanceledError and frees every tensor', async () => {
    const input = await fetchBlob(CLIPS + 'pedestrians_3s.mp4');
    const tensorsBefore = tf.memory().numTensors;
    const abort = new AbortController();
    let frames = 0;
    const error = await rejection(
      transcodeVideo(input, options({ signal: abort.signal, onProgress: (p) => (frames = p.frames) === 3 && abort.abort() })),
    );
    expect(error).to.be.instanceOf(NstTranscodeCanceledError);
    expect(frames, 'stopped soon after the abort').to.be.below(10);
    expect(tf.memory().numTensors, 'tensors left behind').to.equal(tensorsBefore);
    const already = new AbortController();
    already.abort();
    expect(await rejection(transcodeVideo(input, options({ signal: already.signal })))).to.be.instanceOf(NstTranscodeCanceledError);
  });
});
