/**
 * Node-side helpers for the browser tests, loaded by web-test-runner.config.mjs: fixture files
 * written before the run (served from /test/generated/) and server commands a browser test calls
 * with `executeServerCommand` to get the Node result for the same input.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ARCHITECTURE_PRESETS, encodeRandomStyleModel, type EncodedStyleModel } from 'nst-video/model';
import * as tf from '@tensorflow/tfjs-core';
import { loadStyleModelFromDisk, writeStyleModel } from '../../trainer/src/model-files.js';
import { selectNodeBackend, type NodeBackendName } from '../../trainer/src/node-backend.js';
import { flicker, meanFrameDifference, probeVideo, writeTranscodeClips } from './video-probe.js';

export const GENERATED_DIR = 'test/generated';

/** Models the browser tests load by URL: a good one and damaged copies. */
export async function writeBrowserFixtures(): Promise<void> {
  const models = join(GENERATED_DIR, 'models');
  mkdirSync(models, { recursive: true });
  const encoded = await fixtureModel();
  await writeStyleModel(join(models, 'slim-7'), encoded);
  await writeStyleModel(join(models, 'slim-7-corrupt-shard'), withShard(encoded, (bytes) => (bytes[100] ^= 0x40)));
  await writeStyleModel(join(models, 'slim-7-truncated-shard'), { ...encoded, shards: encoded.shards.map((s) => ({ ...s, bytes: s.bytes.subarray(0, s.bytes.length - 10) })) });
  writeVideoFixtures();
}

/**
 * Clips the element tests play through `src` and a slotted `<video>`: test/generated/clips/testsrc.webm
 * (ffmpeg testsrc2, 320x240, 15 fps, 2 s, VP8, with an Opus sine). Without ffmpeg the file is
 * missing and those tests fail naming it.
 */
export function writeVideoFixtures(): void {
  // Each transcode clip is made once, by name: a clip added later is made in an existing folder.
  writeTranscodeClips(join(GENERATED_DIR, 'clips'));
  const clip = join(GENERATED_DIR, 'clips', 'testsrc.webm');
  if (existsSync(clip)) return;
  try {
    execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=15', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
      '-t', '2', '-c:v', 'libvpx', '-b:v', '400k', '-pix_fmt', 'yuv420p', '-c:a', 'libopus', '-shortest', clip]);
  } catch (error) {
    console.warn(`Could not make ${clip} with ffmpeg (${(error as Error).message}); the element's src tests will fail. Install ffmpeg.`);
  }
}

/** The slim network with seed 7, stored as float32 so Node and browser read identical weights. */
export function fixtureModel(): Promise<EncodedStyleModel> {
  const architecture = ARCHITECTURE_PRESETS.slim;
  return encodeRandomStyleModel({ architecture, seed: 7, storage: 'float32', style: { name: 'fixture-slim-7' }, generatedBy: 'nst-video tests' });
}

function withShard(encoded: EncodedStyleModel, damage: (bytes: Uint8Array) => void): EncodedStyleModel {
  return {
    ...encoded,
    shards: encoded.shards.map((shard, i) => {
      const bytes = shard.bytes.slice();
      if (i === 0) damage(bytes);
      return { ...shard, bytes };
    }),
  };
}

/**
 * Chromium's fake camera plays test/generated/camera.y4m when ffmpeg could make it (a moving
 * test pattern), else its built-in pattern.
 */
export function fakeCameraArgs(): string[] {
  const clip = join(process.cwd(), GENERATED_DIR, 'camera.y4m');
  if (!existsSync(clip)) {
    try {
      mkdirSync(GENERATED_DIR, { recursive: true });
      execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=15', '-t', '2', '-pix_fmt', 'yuv420p', clip]);
    } catch {
      return [];
    }
  }
  return [`--use-file-for-fake-video-capture=${clip}`];
}

interface NodeStylizePayload {
  /** Served path of a fixture model, e.g. /test/generated/models/slim-7/model.json. */
  model: string;
  pixels: number[];
  width: number;
  height: number;
  size?: number;
  backend?: NodeBackendName;
}

interface ProbeTranscodePayload {
  /** The transcoded file, base64. */
  base64: string;
  /** Its extension (mp4, webm): ffprobe goes by the content, the name is for messages. */
  extension: string;
  /** Served path of the input it was made from, e.g. /test/generated/clips/tree_5s.webm. */
  input: string;
}

export const serverCommands: Record<string, (payload: unknown) => Promise<unknown>> = {
  /** Stylises the given RGB pixels in Node and returns the float output (not rounded). */
  async 'nst-node-stylize'(payload) {
    const { model: modelPath, pixels, width, height, size, backend = 'wasm' } = payload as NodeStylizePayload;
    await selectNodeBackend(backend);
    const model = await loadStyleModelFromDisk(join(process.cwd(), modelPath.replace(/^\//, '')));
    try {
      const input = tf.tensor3d(pixels, [height, width, 3], 'float32');
      const output = model.stylizeTensor(input, { size });
      const data = Array.from(await output.data());
      const [outHeight, outWidth] = output.shape;
      tf.dispose([input, output]);
      return { data, width: outWidth, height: outHeight };
    } finally {
      model.dispose();
    }
  },
  /**
   * ffprobe of a transcoded file and of its input, with the flicker of each (mean |frame(t+1) -
   * frame(t)| on 8x8 block means, 0..255) and their mean difference frame by frame.
   */
  async 'nst-probe-transcode'(payload) {
    const { base64, extension, input } = payload as ProbeTranscodePayload;
    const scratch = mkdtempSync(join(tmpdir(), 'nst-transcode-'));
    try {
      const output = join(scratch, `output.${extension}`);
      writeFileSync(output, Buffer.from(base64, 'base64'));
      const inputPath = join(process.cwd(), input.replace(/^\//, ''));
      return {
        output: probeVideo(output),
        input: probeVideo(inputPath),
        outputFlicker: flicker(output),
        inputFlicker: flicker(inputPath),
        differenceFromInput: meanFrameDifference(output, inputPath),
      };
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  },
};
