// Recording <nst-video>'s output with its source's sound: captureStream() + NstClipRecorder
// (mediabunny), read back with mediabunny.
import { expect } from 'chai';
import { ALL_FORMATS, BlobSource, Input } from 'mediabunny';
import { NstClipRecorder, type ClipFormat } from '../../plugin/src/index.js';
import { FrameFeeder, MODEL_URL, makeElement, nextEvent, seeded } from './element-helpers.js';

describe('<nst-video> recording', function () {
  for (const format of ['mp4', 'webm'] as ClipFormat[]) {
    it(`records the stylised picture with the source's sound (${format})`, async () => {
      const feeder = new FrameFeeder(160, 120);
      const random = seeded(21);
      const draw = (context: CanvasRenderingContext2D) => {
        context.fillStyle = `hsl(${Math.floor(random() * 360)} 60% 50%)`;
        context.fillRect(0, 0, 160, 120);
        context.fillStyle = '#fff';
        context.fillRect(40 + Math.floor(random() * 60), 30, 30, 30);
      };
      // A 440 Hz tone as the source's sound.
      const audio = new AudioContext();
      const tone = audio.createOscillator();
      const sink = audio.createMediaStreamDestination();
      tone.connect(sink);
      tone.start();
      await audio.resume();
      const source = new MediaStream([...feeder.stream.getVideoTracks(), ...sink.stream.getAudioTracks()]);
      feeder.send(draw);
      const element = makeElement({ model: MODEL_URL, autoplay: true, muted: true, 'inference-size': '32' }, document.createElement('div'));
      element.srcObject = source;
      document.body.append(element);
      try {
        await nextEvent(element, 'nst-ready');
        const stream = element.captureStream(15);
        expect(stream.getAudioTracks(), 'the stream carries the source sound').to.have.length(1);
        const recorder = await NstClipRecorder.start(stream, { format });
        expect(recorder.hasAudio).to.equal(true);
        const started = performance.now();
        while (performance.now() - started < 1500) await feeder.push(draw, [element]);
        const blob = await recorder.stop();
        for (const track of stream.getTracks()) track.stop();
        expect(blob.type).to.contain(format === 'mp4' ? 'video/mp4' : 'video/webm');
        const input = new Input({ source: new BlobSource(blob), formats: ALL_FORMATS });
        const [videoTrack] = await input.getVideoTracks();
        const [audioTrack] = await input.getAudioTracks();
        expect(videoTrack, 'a video track').to.exist;
        expect(audioTrack, 'a sound track').to.exist;
        expect([videoTrack.displayWidth, videoTrack.displayHeight]).to.deep.equal([160, 120]);
        const duration = await input.computeDuration();
        console.log(`${format}: ${recorder.codecs}, ${blob.size} bytes, ${duration.toFixed(2)} s, audio ${audioTrack.codec} ${audioTrack.sampleRate} Hz`);
        expect(duration).to.be.greaterThan(1);
      } finally {
        element.remove();
        feeder.stop();
        tone.stop();
        await audio.close();
      }
    });
  }
});
