/**
 * Records a MediaStream (say `<nst-video>.captureStream()`, with a microphone track added) into
 * an MP4 or WebM file with mediabunny, keeping the sound. Codecs are the first the browser can
 * encode: H.264, VP9, AV1 or VP8 for video; AAC or Opus for sound.
 */
import {
  BufferTarget,
  MediaStreamAudioTrackSource,
  MediaStreamVideoTrackSource,
  Mp4OutputFormat,
  Output,
  QUALITY_HIGH,
  WebMOutputFormat,
  getFirstEncodableAudioCodec,
  getFirstEncodableVideoCodec,
  type AudioCodec,
  type VideoCodec,
} from 'mediabunny';

export type ClipFormat = 'mp4' | 'webm';

export interface RecordClipOptions {
  /** Container: 'mp4' (default) or 'webm'. */
  format?: ClipFormat;
  /** Frames per second written; default the track's own rate. */
  frameRate?: number;
}

const VIDEO_CODECS: VideoCodec[] = ['avc', 'vp9', 'av1', 'vp8'];
const AUDIO_CODECS: AudioCodec[] = ['aac', 'opus'];

/** A recording in progress; `stop()` gives the file. */
export class NstClipRecorder {
  private _error: Error | null = null;

  private constructor(
    private readonly _output: Output<Mp4OutputFormat | WebMOutputFormat, BufferTarget>,
    /** The codecs chosen, e.g. "avc + opus". */
    readonly codecs: string,
    /** Whether the clip has a sound track. */
    readonly hasAudio: boolean,
  ) {}

  /**
   * Starts recording the first video track of `stream` and its first audio track, if any.
   * Rejects, naming the problem, when the stream has no live video track or the browser can
   * encode none of the codecs.
   */
  static async start(stream: MediaStream, options: RecordClipOptions = {}): Promise<NstClipRecorder> {
    const format = options.format ?? 'mp4';
    if (format !== 'mp4' && format !== 'webm') throw new TypeError(`options.format must be "mp4" or "webm"; got ${JSON.stringify(format)}.`);
    if (options.frameRate !== undefined && !(options.frameRate > 0)) throw new TypeError(`options.frameRate, when given, must be a positive number; got ${options.frameRate}.`);
    const [video] = stream.getVideoTracks().filter((track) => track.readyState === 'live');
    if (!video) throw new Error('The stream has no live video track to record. Record <nst-video>.captureStream() after nst-ready.');
    const [audio] = stream.getAudioTracks().filter((track) => track.readyState === 'live');
    const container = format === 'mp4' ? new Mp4OutputFormat({ fastStart: 'in-memory' }) : new WebMOutputFormat();
    const settings = video.getSettings();
    const videoCodec = await getFirstEncodableVideoCodec(
      container.getSupportedVideoCodecs().filter((codec) => VIDEO_CODECS.includes(codec)),
      { width: settings.width, height: settings.height },
    );
    if (!videoCodec) throw new Error(`This browser can encode none of ${VIDEO_CODECS.join(', ')} into ${format}; try the other format.`);
    const output = new Output({ format: container, target: new BufferTarget() });
    const videoSource = new MediaStreamVideoTrackSource(video as MediaStreamVideoTrack, { codec: videoCodec, bitrate: QUALITY_HIGH }, { frameRate: options.frameRate });
    output.addVideoTrack(videoSource, options.frameRate ? { frameRate: options.frameRate } : {});
    let audioCodec: AudioCodec | null = null;
    let audioSource: MediaStreamAudioTrackSource | null = null;
    if (audio) {
      const audioSettings = audio.getSettings();
      audioCodec = await getFirstEncodableAudioCodec(
        container.getSupportedAudioCodecs().filter((codec) => AUDIO_CODECS.includes(codec)),
        { numberOfChannels: audioSettings.channelCount, sampleRate: audioSettings.sampleRate },
      );
      if (audioCodec) {
        audioSource = new MediaStreamAudioTrackSource(audio as MediaStreamAudioTrack, { codec: audioCodec, bitrate: QUALITY_HIGH });
        output.addAudioTrack(audioSource);
      }
    }
    const recorder = new NstClipRecorder(output, audioCodec ? `${videoCodec} + ${audioCodec}` : videoCodec, Boolean(audioCodec));
    for (const source of [videoSource, audioSource]) {
      source?.errorPromise.catch((error: Error) => {
        recorder._error ??= error;
      });
    }
    await output.start();
    return recorder;
  }

  /** Ends the recording and resolves with the file. */
  async stop(): Promise<Blob> {
    if (this._error) {
      await this._output.cancel();
      throw new Error(`The recording failed: ${this._error.message}`, { cause: this._error });
    }
    await this._output.finalize();
    const buffer = this._output.target.buffer;
    if (!buffer) throw new Error('The recording produced no data.');
    return new Blob([buffer], { type: await this._output.getMimeType() });
  }

  /** Throws the recording away. */
  async cancel(): Promise<void> {
    await this._output.cancel();
  }
}
