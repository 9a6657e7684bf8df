/**
 * What ffprobe and ffmpeg say about a video file, for the transcoding tests (browser, through a
 * server command, and the CLI's Node test): streams with counted frames and durations, and
 * figures on the decoded pictures (8x8 block means).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export interface ProbedStream {
  codec: string;
  /** Frames counted by decoding (video) or packets (audio). */
  frames: number;
  /** Seconds, from the stream's timestamps (or the container's when the stream has none). */
  duration: number;
  width?: number;
  height?: number;
}

export interface ProbedVideo {
  video: ProbedStream | null;
  audio: ProbedStream | null;
  /** The container's duration, seconds. */
  duration: number;
}

/** Streams of `path` as ffprobe reads them, every video frame decoded and counted. */
export function probeVideo(path: string): ProbedVideo {
  const json = JSON.parse(
    execFileSync('ffprobe', ['-v', 'error', '-count_frames', '-count_packets', '-show_entries',
      'stream=codec_type,codec_name,width,height,nb_read_frames,nb_read_packets,duration,start_time:format=duration', '-of', 'json', path], { encoding: 'utf8' }),
  ) as { streams: Record<string, string | number>[]; format: { duration: string } };
  const formatDuration = Number(json.format.duration);
  const stream = (type: string): ProbedStream | null => {
    const s = json.streams.find((candidate) => candidate.codec_type === type);
    if (!s) return null;
    const duration = s.duration !== undefined ? Number(s.duration) : formatDuration;
    return {
      codec: String(s.codec_name),
      frames: Number(type === 'video' ? s.nb_read_frames : s.nb_read_packets),
      duration,
      ...(type === 'video' && { width: Number(s.width), height: Number(s.height) }),
    };
  };
  return { video: stream('video'), audio: stream('audio'), duration: formatDuration };
}

/** Per frame, the mean RGB of each 8x8 block (ffmpeg decodes; a partial block at the edge is left out). */
export function blockMeans(path: string): { width: number; height: number; frames: Float32Array[] } {
  const probe = probeVideo(path);
  const { width = 0, height = 0 } = probe.video ?? {};
  const raw = execFileSync('ffmpeg', ['-v', 'error', '-i', path, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { maxBuffer: 1 << 30 });
  const frameBytes = width * height * 3;
  const [bw, bh] = [Math.floor(width / 8), Math.floor(height / 8)];
  const frames: Float32Array[] = [];
  for (let offset = 0; offset + frameBytes <= raw.length; offset += frameBytes) {
    const means = new Float32Array(bw * bh * 3);
    for (let y = 0; y < bh * 8; y++) {
      for (let x = 0; x < bw * 8; x++) {
        const i = offset + (y * width + x) * 3;
        const b = ((y >> 3) * bw + (x >> 3)) * 3;
        for (let c = 0; c < 3; c++) means[b + c] += raw[i + c] / 64;
      }
    }
    frames.push(means);
  }
  return { width, height, frames };
}

function meanAbs(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
}

/** Mean |frame(t+1) - frame(t)| over the 8x8 block means (0..255): how much a still picture flickers. */
export function flicker(path: string): number {
  const { frames } = blockMeans(path);
  let sum = 0;
  for (let t = 1; t < frames.length; t++) sum += meanAbs(frames[t], frames[t - 1]);
  return frames.length > 1 ? sum / (frames.length - 1) : 0;
}

/** Mean |a(t) - b(t)| over the 8x8 block means of frames with the same index (0..255). */
export function meanFrameDifference(a: string, b: string): number {
  const [x, y] = [blockMeans(a).frames, blockMeans(b).frames];
  const n = Math.min(x.length, y.length);
  let sum = 0;
  for (let t = 0; t < n; t++) sum += meanAbs(x[t], y[t]);
  return n ? sum / n : 0;
}

/**
 * Colour tags for a clip both Chromium decoders must read alike: untagged SD H.264 comes out of
 * WebCodecs as BT.709 and out of <video> as BT.601 (5.6/255 apart on SMPTE bars).
 */
const BT709_TAGS = ['-colorspace', 'bt709', '-color_primaries', 'bt709', '-color_trc', 'bt709', '-color_range', 'tv'];

/** Frames of long-64x48.mp4, the clip the transcode memory test runs through. */
export const LONG_CLIP_FRAMES = 3000;

/** The sample clips of ../shared/data/video the transcoding tests use, copied where the test server serves them. */
export const SHARED_CLIPS = ['pedestrians_3s.mp4', 'tree_5s.webm', 'testsrc_2s_noaudio.mp4'];

/**
 * Clips for the transcoding tests in `directory`: the shared sample clips, a still scene with
 * sensor noise (still-noise.mp4: SMPTE bars, 192x144, 10 fps, 2 s, fresh noise each frame), an
 * HEVC clip (no WebCodecs decoder in Chromium here), a WebM whose video track has no frame, the
 * 2 s test clip with its index first (to cut it after the index), a sound-only file, a still
 * picture (still-bars.mp4: SMPTE bars, 160x120, 10 fps, 1 s, tagged BT.709; every frame decodes
 * alike, so any frame the element shows is the transcode's first) and a long small clip (long-64x48.mp4:
 * testsrc2, 64x48, 30 fps, LONG_CLIP_FRAMES frames). Each is made once.
 */
export function writeTranscodeClips(directory: string, sharedVideo = join(process.cwd(), '..', 'shared', 'data', 'video')): void {
  mkdirSync(directory, { recursive: true });
  for (const clip of SHARED_CLIPS) {
    const from = join(sharedVideo, clip);
    if (!existsSync(join(directory, clip)) && existsSync(from)) copyFileSync(from, join(directory, clip));
  }
  const made: [string, string[]][] = [
    ['still-noise.mp4', ['-f', 'lavfi', '-i', 'smptebars=size=192x144:rate=10', '-vf', 'noise=alls=12:allf=t', '-t', '2', '-c:v', 'libx264', '-crf', '12', '-pix_fmt', 'yuv420p']],
    ['hevc.mp4', ['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=10', '-t', '0.5', '-c:v', 'libx265', '-x265-params', 'log-level=error', '-tag:v', 'hvc1']],
    ['zero-frames.webm', ['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=10', '-frames:v', '0', '-c:v', 'libvpx']],
    ['testsrc-faststart.mp4', ['-i', join(sharedVideo, 'testsrc_2s_noaudio.mp4'), '-c', 'copy', '-movflags', '+faststart']],
    ['sound-only.webm', ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '1', '-c:a', 'libopus']],
    ['still-bars.mp4', ['-f', 'lavfi', '-i', 'smptebars=size=160x120:rate=10', '-t', '1', '-c:v', 'libx264', '-crf', '10', '-pix_fmt', 'yuv420p', ...BT709_TAGS]],
    ['long-64x48.mp4', ['-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=30', '-frames:v', String(LONG_CLIP_FRAMES), '-c:v', 'libx264', '-pix_fmt', 'yuv420p']],
  ];
  for (const [name, args] of made) {
    const path = join(directory, name);
    if (existsSync(path)) continue;
    try {
      execFileSync('ffmpeg', ['-loglevel', 'error', '-y', ...args, path]);
    } catch (error) {
      console.warn(`Could not make ${path} with ffmpeg (${(error as Error).message}); the transcoding tests that use it will fail. Install ffmpeg.`);
    }
  }
}
