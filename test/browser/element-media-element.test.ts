// <nst-video> as a media element: the source <video>'s events fired again on the element, the
// <video> properties passed through, <video>'s boolean attributes reflected, and the real
// media-chrome driving it (its play button and time range move the element).
import { sendMouse } from '@web/test-runner-commands';
import { expect } from 'chai';
import 'media-chrome';
import type { NstVideoElement } from '../../plugin/src/index.js';
import { CLIP_URL, MODEL_URL, WASM_PATHS, makeElement, nextEvent, waitFor } from './element-helpers.js';

const COMMON = { model: MODEL_URL, muted: true, 'inference-size': '64', smoothing: '0' };

/** The clip as a blob: URL: the test server answers no range requests, so over http nothing is seekable. */
async function seekableClip(): Promise<string> {
  return URL.createObjectURL(await (await fetch(CLIP_URL)).blob());
}

/** Records the type of every media event `element` fires. */
function recordEvents(element: EventTarget, types: string[]): string[] {
  const seen: string[] = [];
  for (const type of types) element.addEventListener(type, () => seen.push(type));
  return seen;
}

describe('<nst-video> as a media element', function () {
  let element: NstVideoElement | undefined;
  let container: HTMLElement | undefined;
  afterEach(() => {
    element?.remove();
    container?.remove();
    element = container = undefined;
  });

  it('fires the source video\'s media events and passes currentTime, duration, ended through', async () => {
    element = makeElement({ ...COMMON, src: await seekableClip() });
    const seen = recordEvents(element, ['loadedmetadata', 'play', 'playing', 'timeupdate', 'pause', 'seeked', 'ended']);
    await nextEvent(element, 'loadedmetadata');
    const video = element.shadowRoot!.querySelector('video')!;
    expect(element.duration, 'duration of the 2 s clip').to.be.closeTo(2, 0.1).and.to.equal(video.duration);
    expect([element.paused, element.ended, element.currentTime]).to.deep.equal([true, false, 0]);

    const playing = nextEvent(element, 'playing');
    await element.play();
    await playing;
    await nextEvent(element, 'timeupdate');
    expect(element.currentTime, 'currentTime moves').to.be.greaterThan(0);

    element.pause();
    await nextEvent(element, 'pause');
    expect(element.paused).to.equal(true);
    const seeked = nextEvent(element, 'seeked');
    element.currentTime = 1.9;
    await seeked;
    expect(video.currentTime, 'setting currentTime seeks the source').to.be.closeTo(1.9, 0.01);

    // Played to its end (no loop): paused and ended, as a <video>.
    const ended = nextEvent(element, 'ended');
    await element.play();
    await ended;
    expect([element.paused, element.ended]).to.deep.equal([true, true]);
    expect(seen.indexOf('loadedmetadata')).to.equal(0);
    expect(seen.slice(-2), 'pause, then ended').to.deep.equal(['pause', 'ended']);
    for (const type of ['play', 'playing', 'timeupdate', 'seeked']) expect(seen, type).to.include(type);

    // play() after the end starts over.
    await element.play();
    expect([element.paused, element.ended]).to.deep.equal([false, false]);
    expect(element.currentTime).to.be.lessThan(1);
  });

  it('play() right after setting src plays that src, as <video>.play() does', async () => {
    element = makeElement({ ...COMMON });
    await element.updateComplete;
    element.src = CLIP_URL;
    const playing = nextEvent(element, 'playing', 10000);
    await element.play();
    await playing;
    const ready = nextEvent(element, 'nst-ready');
    await nextEvent(element, 'timeupdate');
    expect([element.paused, element.currentTime > 0], 'paused, and currentTime moves').to.deep.equal([false, true]);
    await ready;
  });

  it('reflects autoplay, loop, muted and camera; passes loop, muted and volume to the video', async () => {
    element = makeElement({ src: CLIP_URL });
    await element.updateComplete;
    const video = element.shadowRoot!.querySelector('video')!;
    const volumechange = nextEvent(element, 'volumechange');
    Object.assign(element, { autoplay: true, loop: true, muted: true });
    element.volume = 0.25;
    await element.updateComplete;
    for (const name of ['autoplay', 'loop', 'muted']) expect(element.hasAttribute(name), name).to.equal(true);
    await volumechange;
    expect([video.loop, video.muted, video.volume, element.volume]).to.deep.equal([true, true, 0.25, 0.25]);
    element.loop = false;
    await element.updateComplete;
    expect([element.hasAttribute('loop'), video.loop]).to.deep.equal([false, false]);
    expect(() => (element!.volume = 2), 'volume outside 0..1 throws, as <video>').to.throw();
  });

  it('camera: a live stream, with an infinite duration', async () => {
    element = makeElement({ ...COMMON, autoplay: true });
    element.camera = true;
    await element.updateComplete;
    expect(element.hasAttribute('camera'), 'camera reflects').to.equal(true);
    await nextEvent(element, 'playing');
    expect([element.duration, element.ended, element.paused]).to.deep.equal([Infinity, false, false]);
  });

  it('a missing src fires error as well as nst-error', async () => {
    element = makeElement({ ...COMMON, src: '/test/generated/clips/no-such-clip.webm' });
    const [error, nstError] = await Promise.all([nextEvent(element, 'error'), nextEvent<CustomEvent>(element, 'nst-error')]);
    expect(error).to.not.be.instanceOf(CustomEvent);
    expect(nstError.detail.phase).to.equal('media');
  });

  it('media-chrome: its play button and time range play, pause and seek the element', async () => {
    container = document.createElement('div');
    container.innerHTML = `<media-controller style="width: 640px; display: block">
      <nst-video slot="media" src="${await seekableClip()}" loop model="${MODEL_URL}" wasm-paths="${WASM_PATHS}" muted inference-size="64"></nst-video>
      <media-control-bar><media-play-button></media-play-button><media-time-range style="width: 400px"></media-time-range></media-control-bar>
    </media-controller>`;
    document.body.append(container);
    element = container.querySelector('nst-video')!;
    const button = container.querySelector<HTMLElement>('media-play-button')!;
    const range = container.querySelector<HTMLElement>('media-time-range')!;
    await nextEvent(element, 'nst-model-load');
    await waitFor(() => Number(range.getAttribute('mediaduration')) > 1.9, 'media-chrome to read the duration');

    button.click();
    await waitFor(() => !element!.paused && element!.currentTime > 0.2, 'the play button to play the element');
    button.click();
    await waitFor(() => element!.paused, 'the play button to pause the element');

    // A click at three quarters of the time range seeks there.
    const box = range.getBoundingClientRect();
    const seeked = nextEvent(element, 'seeked');
    await sendMouse({ type: 'click', position: [Math.round(box.left + box.width * 0.75), Math.round(box.top + box.height / 2)] });
    await seeked;
    expect(element.currentTime, 'seeked to about 3/4 of 2 s').to.be.within(1.2, 1.8);
    expect(element.paused, 'seeking does not play').to.equal(true);
    await waitFor(() => Math.abs(Number(range.getAttribute('mediacurrenttime')) - element!.currentTime) < 0.01, 'the time range to show the new time');
  });
});
