// The picture <nst-video> shows, end to end (network + NstStylizeChain): temporal smoothing on a
// noisy still scene and on a panning one, colour matching, and strength 0. Frames are drawn by the
// test and sent one at a time through a canvas MediaStream (srcObject), so that two elements with
// different settings see exactly the same frames.
import { expect } from 'chai';
import type { NstVideoElement } from '../../plugin/src/index.js';
import { FrameFeeder, MODEL_URL, elementCanvas, makeElement, meanAbsDiff, meanChroma, nextEvent, pixelsOf, seeded } from './element-helpers.js';

const [WIDTH, HEIGHT] = [160, 120];

/** A still scene: gradients and shapes, identical every frame. */
function drawScene(context: CanvasRenderingContext2D): void {
  const gradient = context.createLinearGradient(0, 0, WIDTH, HEIGHT);
  gradient.addColorStop(0, '#3060c0');
  gradient.addColorStop(0.5, '#60a040');
  gradient.addColorStop(1, '#e0b030');
  context.fillStyle = gradient;
  context.fillRect(0, 0, WIDTH, HEIGHT);
  context.fillStyle = '#c03020';
  context.fillRect(20, 20, 40, 30);
  context.fillStyle = '#f0f0e0';
  context.beginPath();
  context.arc(110, 70, 25, 0, Math.PI * 2);
  context.fill();
}

/** Adds per-frame sensor noise: each pixel and channel +-amplitude, uniformly. */
function addNoise(context: CanvasRenderingContext2D, random: () => number, amplitude: number): void {
  const image = context.getImageData(0, 0, WIDTH, HEIGHT);
  for (let i = 0; i < image.data.length; i += 4) {
    for (let c = 0; c < 3; c++) image.data[i + c] += Math.round((random() * 2 - 1) * amplitude);
  }
  context.putImageData(image, 0, 0);
}

/** Left of this column is still; right of it a striped band pans by PAN_SPEED px per frame. */
const PAN_LEFT = 80;
const PAN_SPEED = 6;

function drawPanning(context: CanvasRenderingContext2D, frame: number): void {
  drawScene(context);
  context.save();
  context.beginPath();
  context.rect(PAN_LEFT, 0, WIDTH - PAN_LEFT, HEIGHT);
  context.clip();
  for (let x = PAN_LEFT - 40 + ((frame * PAN_SPEED) % 40); x < WIDTH; x += 40) {
    context.fillStyle = '#101010';
    context.fillRect(x, 0, 20, HEIGHT);
    context.fillStyle = '#f04080';
    context.fillRect(x + 20, 10, 20, HEIGHT - 20);
  }
  context.restore();
}

describe('<nst-video> picture: smoothing, colour match, strength', function () {
  const elements: NstVideoElement[] = [];
  let feeder: FrameFeeder | undefined;
  afterEach(() => {
    for (const element of elements.splice(0)) element.remove();
    feeder?.stop();
  });

  /** Elements with these settings on one fed stream, past their first frame and settled. */
  async function start(settings: Record<string, string>[], first: (context: CanvasRenderingContext2D) => void): Promise<NstVideoElement[]> {
    feeder = new FrameFeeder(WIDTH, HEIGHT);
    feeder.send(first);
    const made = settings.map((attributes) => {
      const element = makeElement({ model: MODEL_URL, autoplay: true, 'inference-size': '64', ...attributes }, document.createElement('div'));
      element.srcObject = feeder!.stream;
      document.body.append(element);
      elements.push(element);
      return element;
    });
    await Promise.all(made.map((element) => nextEvent(element, 'nst-ready')));
    await feeder.settle(made);
    return made;
  }

  it('a still scene with sensor noise: smoothing 0.8 halves the frame-to-frame change (or better)', async () => {
    const random = seeded(11);
    const noisy = (context: CanvasRenderingContext2D) => {
      drawScene(context);
      addNoise(context, random, 12);
    };
    const [raw, smooth] = await start([{ smoothing: '0' }, { smoothing: '0.8' }], noisy);
    const change = { raw: [] as number[], smooth: [] as number[], input: [] as number[] };
    let previous: ImageData[] | undefined;
    for (let frame = 0; frame < 24; frame++) {
      await feeder!.push(noisy, [raw, smooth]);
      const now = [pixelsOf(elementCanvas(raw)), pixelsOf(elementCanvas(smooth)), pixelsOf(feeder!.canvas)];
      if (previous && frame >= 4) {
        change.raw.push(meanAbsDiff(now[0], previous[0]));
        change.smooth.push(meanAbsDiff(now[1], previous[1]));
        change.input.push(meanAbsDiff(now[2], previous[2]));
      }
      previous = now;
    }
    const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
    const [input, rawChange, smoothChange] = [mean(change.input), mean(change.raw), mean(change.smooth)];
    console.log(`noisy still scene, mean |frame - previous| (0..255): input ${input.toFixed(2)}, smoothing 0: ${rawChange.toFixed(2)}, smoothing 0.8: ${smoothChange.toFixed(2)} (ratio ${(smoothChange / rawChange).toFixed(3)})`);
    expect(rawChange, 'the network passes the noise on (else the test shows nothing)').to.be.greaterThan(1);
    expect(smoothChange).to.be.at.most(rawChange / 2);
  });

  it('a panning scene: smoothed output is as close to the per-frame output where it moves as where it is still (no ghost trails)', async () => {
    const random = seeded(12);
    let frame = 0;
    const draw = (context: CanvasRenderingContext2D) => {
      drawPanning(context, frame);
      addNoise(context, random, 6);
    };
    const [raw, smooth] = await start([{ smoothing: '0' }, { smoothing: '0.8' }], draw);
    let moving = 0;
    let still = 0;
    let previousInput: ImageData | undefined;
    let counted = 0;
    for (frame = 1; frame <= 20; frame++) {
      await feeder!.push(draw, [raw, smooth]);
      const input = pixelsOf(feeder!.canvas);
      if (previousInput && frame > 4) {
        // Moving: where the input changed by more than the noise between this frame and the last.
        const changed = (x: number, y: number) => {
          const i = (y * WIDTH + x) * 4;
          return Math.abs(input.data[i] - previousInput!.data[i]) + Math.abs(input.data[i + 1] - previousInput!.data[i + 1]) + Math.abs(input.data[i + 2] - previousInput!.data[i + 2]) > 90;
        };
        const [rawShown, smoothShown] = [pixelsOf(elementCanvas(raw)), pixelsOf(elementCanvas(smooth))];
        moving += meanAbsDiff(smoothShown, rawShown, (x, y) => x >= PAN_LEFT && changed(x, y));
        still += meanAbsDiff(smoothShown, rawShown, (x) => x < PAN_LEFT - 8);
        counted++;
      }
      previousInput = input;
    }
    [moving, still] = [moving / counted, still / counted];
    console.log(`panning scene, mean |smoothed - per-frame| (0..255): moving regions ${moving.toFixed(2)}, still regions ${still.toFixed(2)}`);
    expect(moving, 'moving regions follow the per-frame output as closely as still ones').to.be.at.most(still * 1.25 + 0.5);
  });

  it('color-match="1" brings the mean chroma (BT.601 U, V) to within 0.02 of the input frame', async () => {
    const draw = (context: CanvasRenderingContext2D) => drawScene(context);
    const results: Record<string, { u: number; v: number }> = {};
    const [unmatched, luminance, meanVariance] = await start(
      [{ 'color-match': '0', smoothing: '0' }, { 'color-match': '1', smoothing: '0', 'color-match-mode': 'luminance' }, { 'color-match': '1', smoothing: '0', 'color-match-mode': 'mean-variance' }],
      draw,
    );
    await feeder!.push(draw, [unmatched, luminance, meanVariance]);
    const input = meanChroma(pixelsOf(feeder!.canvas));
    for (const [name, element] of Object.entries({ unmatched, luminance, meanVariance })) results[name] = meanChroma(pixelsOf(elementCanvas(element)));
    const off = (c: { u: number; v: number }) => Math.max(Math.abs(c.u - input.u), Math.abs(c.v - input.v));
    console.log(`mean chroma: input U ${input.u.toFixed(3)} V ${input.v.toFixed(3)}; ` + Object.entries(results).map(([name, c]) => `${name} U ${c.u.toFixed(3)} V ${c.v.toFixed(3)} (off ${off(c).toFixed(3)})`).join('; '));
    expect(off(results.unmatched), 'without colour match the style moves the chroma (else the test shows nothing)').to.be.greaterThan(0.02);
    expect(off(results.luminance), 'luminance mode').to.be.at.most(0.02);
    expect(off(results.meanVariance), 'mean-variance mode').to.be.at.most(0.02);
  });

  it('strength="0" shows the input frame', async () => {
    const draw = (context: CanvasRenderingContext2D) => drawScene(context);
    const [element] = await start([{ strength: '0', smoothing: '0' }], draw);
    await feeder!.push(draw, [element]);
    const difference = meanAbsDiff(pixelsOf(elementCanvas(element)), pixelsOf(feeder!.canvas));
    console.log(`strength 0: mean |shown - input| = ${difference.toFixed(2)}`);
    expect(difference).to.be.lessThan(1.5);
    element.strength = 1;
    await feeder!.push(draw, [element]);
    expect(meanAbsDiff(pixelsOf(elementCanvas(element)), pixelsOf(feeder!.canvas)), 'strength 1 is the style').to.be.greaterThan(20);
  });
});
