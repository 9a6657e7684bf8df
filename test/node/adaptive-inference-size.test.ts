// How <nst-video> picks its network input size for a target frame rate (AdaptiveInferenceSize),
// against a simulated backend whose frame time grows with the network's pixel count: it settles on
// one size without oscillating, never goes below the floor or above the user's size, and climbs
// back when frames get cheaper.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AdaptiveInferenceSize, ladderSize } from '../../plugin/src/element/adaptive-inference-size.js';

/** Runs `seconds` of back-to-back frames costing `frameMs(size)`; returns the size of every frame. */
function simulate(adaptive: AdaptiveInferenceSize, options: { maxSize: number; targetFps: number; seconds: number; frameMs: (size: number) => number; start?: number }): number[] {
  const sizes: number[] = [];
  let now = options.start ?? 0;
  while (now < (options.start ?? 0) + options.seconds * 1000) {
    const size = adaptive.next(options.maxSize, options.targetFps);
    const ms = options.frameMs(size);
    now += ms;
    adaptive.frameDone(ms, now, options.targetFps);
    sizes.push(size);
  }
  return sizes;
}

/** 4 ms of capture and drawing plus the network at 1 ms per 1000 pixels of a 4:3 picture. */
const backend = (size: number) => 4 + (size * size * 4) / 3 / 1000;

describe('AdaptiveInferenceSize', () => {
  it('the ladder: the user size, then x0.8 per step in multiples of 4, down to 64 px', () => {
    assert.deepEqual([0, 1, 2, 3, 4, 5].map((level) => ladderSize(160, level)), [160, 128, 104, 80, 64, 64]);
    assert.equal(ladderSize(50, 0), 50, 'a size below the floor is kept as it is');
  });

  it('steps down one size per window until frames keep up, then stays there', () => {
    const adaptive = new AdaptiveInferenceSize();
    // 256 px: 91 ms a frame (11 fps); 15 fps needs 66 ms or less.
    const sizes = simulate(adaptive, { maxSize: 256, targetFps: 15, seconds: 30, frameMs: backend });
    const distinct = sizes.filter((size, i) => size !== sizes[i - 1]);
    assert.deepEqual(distinct, [256, 204], 'one step down, then no oscillation');
    assert.ok(1000 / backend(204) >= 0.9 * 15);
  });

  it('goes to the floor for an unreachable target, and back to the user size for an easy one', () => {
    const adaptive = new AdaptiveInferenceSize();
    const down = simulate(adaptive, { maxSize: 256, targetFps: 1000, seconds: 20, frameMs: backend });
    assert.equal(down.at(-1), 64);
    assert.ok(down.every((size, i) => i === 0 || size <= down[i - 1]), 'only down');
    const up = simulate(adaptive, { maxSize: 256, targetFps: 0.01, seconds: 20, frameMs: backend, start: 20_000 });
    assert.equal(up.at(-1), 256);
    assert.ok(up.every((size, i) => i === 0 || size >= up[i - 1]), 'only up');
  });

  it('climbs back when frames get cheaper; target 0 returns to the user size at once', () => {
    const adaptive = new AdaptiveInferenceSize();
    const slow = simulate(adaptive, { maxSize: 256, targetFps: 15, seconds: 20, frameMs: (size) => 4 * backend(size) });
    assert.equal(slow.at(-1), 104, "4x the cost: 13.6 fps at 104 px, above 90% of 15");
    const fast = simulate(adaptive, { maxSize: 256, targetFps: 15, seconds: 20, frameMs: backend, start: 20_000 });
    // Up only where the whole frame time, scaled by the pixel count, still beats the target by 10%:
    // 164 px (25 fps) would give 16.2 estimated at 204 px, short of 16.5, so it stays.
    assert.deepEqual(fast.filter((size, i) => size !== fast[i - 1]), [104, 132, 164]);
    assert.ok(fast.every((size, i) => i === 0 || size >= fast[i - 1]), 'only up');
    assert.equal(adaptive.next(256, 0), 256);
  });
});
