// <nst-video target-fps>: the network's input size steps down while frames are slower than the
// target and back up when there is room, as the stats report it. The targets are out of any
// machine's reach (1000 fps) or trivially met (0.01 fps), so a fast GPU and this CPU behave alike.
import { expect } from 'chai';
import type { NstVideoElement, NstVideoStats } from '../../plugin/src/index.js';
import { FrameFeeder, MODEL_URL, makeElement, nextEvent, seeded } from './element-helpers.js';

const [WIDTH, HEIGHT] = [320, 240];
const USER_SIZE = 160;

describe('<nst-video> target-fps', function () {
  this.timeout(120000);
  let element: NstVideoElement | undefined;
  let feeder: FrameFeeder | undefined;
  afterEach(() => {
    element?.remove();
    feeder?.stop();
  });

  const random = seeded(11);
  const draw = (context: CanvasRenderingContext2D) => {
    context.fillStyle = `rgb(${Math.round(random() * 255)} 90 140)`;
    context.fillRect(0, 0, WIDTH, HEIGHT);
    context.fillStyle = '#f0d060';
    context.fillRect(40 + Math.round(random() * 100), 60, 90, 90);
  };

  async function start(targetFps: string): Promise<NstVideoElement> {
    feeder = new FrameFeeder(WIDTH, HEIGHT);
    element = makeElement({ model: MODEL_URL, autoplay: true, 'inference-size': String(USER_SIZE), 'target-fps': targetFps, smoothing: '0' }, document.createElement('div'));
    element.srcObject = feeder.stream;
    document.body.append(element);
    feeder.send(draw);
    await nextEvent(element, 'nst-ready');
    await feeder.settle([element]);
    return element;
  }

  /** Pushes frames until `done(stats)` (or `ms`); returns the inference size of every frame shown. */
  async function pushUntil(done: (stats: NstVideoStats) => boolean, what: string, ms = 60000): Promise<number[]> {
    const sizes: number[] = [];
    const started = performance.now();
    while (!done(element!.stats)) {
      if (performance.now() - started > ms) throw new Error(`Timed out after ${ms} ms waiting for ${what}; sizes so far ${sizes.join(' ')}`);
      await feeder!.push(draw, [element!]);
      sizes.push(element!.stats.inferenceSize);
    }
    return sizes;
  }

  /** Pushes frames for `ms`; returns the inference size of every frame shown. */
  async function pushFor(ms: number): Promise<number[]> {
    const until = performance.now() + ms;
    return pushUntil(() => performance.now() > until, `${ms} ms of frames`, ms + 30000);
  }

  it('an unreachable target lowers the size step by step to 64 px; an easy one raises it back to inference-size', async () => {
    const shown = await start('1000');
    expect(shown.stats).to.include({ targetFps: 1000, inferenceSize: USER_SIZE });
    const statsEvents: NstVideoStats[] = [];
    const onStats = (event: Event) => statsEvents.push((event as CustomEvent<NstVideoStats>).detail);
    shown.addEventListener('nst-stats', onStats);

    const down = await pushUntil((stats) => stats.inferenceSize === 64, 'the inference size to reach 64 px');
    console.log(`target 1000 fps: inference sizes ${distinct(down).join(' -> ')} over ${down.length} frames`);
    expect(down.every((size, i) => i === 0 || size <= down[i - 1]), 'only down').to.equal(true);
    expect(distinct(down).length, 'more than one step on the way').to.be.greaterThan(2);
    expect(down.every((size) => size % 4 === 0), 'multiples of 4').to.equal(true);
    expect(shown.stats.inferenceHeight, 'the short side of a 4:3 picture').to.equal(64);
    expect(await pushFor(1500), 'never below 64 px').to.satisfy((sizes: number[]) => sizes.every((size) => size === 64));

    shown.targetFps = 0.01;
    const up = await pushUntil((stats) => stats.inferenceSize === USER_SIZE, 'the inference size to climb back');
    console.log(`target 0.01 fps: inference sizes ${distinct(up).join(' -> ')} over ${up.length} frames`);
    expect(up.every((size, i) => i === 0 || size >= up[i - 1]), 'only up').to.equal(true);
    expect(distinct(up).length, 'more than one step on the way').to.be.greaterThan(2);
    expect(await pushFor(1500), 'never above inference-size').to.satisfy((sizes: number[]) => sizes.every((size) => size === USER_SIZE));

    shown.removeEventListener('nst-stats', onStats);
    expect(statsEvents.length, 'nst-stats events').to.be.greaterThan(0);
    expect(statsEvents.some((stats) => stats.inferenceSize < USER_SIZE && stats.targetFps === 1000), 'nst-stats reported a lowered size').to.equal(true);
    expect(statsEvents.at(-1)).to.include({ targetFps: 0.01 });
  });

  it('target-fps="0" keeps the network at inference-size; turning it off mid-stream restores it at once', async () => {
    const shown = await start('0');
    expect(await pushFor(2500), 'no adaptation').to.satisfy((sizes: number[]) => sizes.every((size) => size === USER_SIZE));
    expect(shown.stats.targetFps).to.equal(0);
    shown.setAttribute('target-fps', '1000');
    await pushUntil((stats) => stats.inferenceSize < USER_SIZE, 'a step down');
    shown.setAttribute('target-fps', '0');
    await feeder!.push(draw, [shown]);
    expect(shown.stats).to.include({ targetFps: 0, inferenceSize: USER_SIZE });
  });
});

function distinct(sizes: number[]): number[] {
  return sizes.filter((size, i) => size !== sizes[i - 1]);
}
