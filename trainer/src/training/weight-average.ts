/**
 * An exponential moving average of the network's weights over the last steps (Polyak averaging):
 * with small batches each step's weights carry the noise of its two photos, and the losses on
 * photos never trained on jump by a few per cent from one checkpoint to the next; the average sits
 * near the middle of where the steps wander, at no cost in training time.
 *
 * Over the first updates the average is the plain mean of the weights seen so far (so it forgets
 * the weights it started from at once: with --init, another painting's), then each update moves
 * it 1/`steps` of the way to the new weights.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface WeightAverageState {
  /** Updates averaged so far. */
  updates: number;
  weights: Map<string, Float32Array>;
}

export class WeightAverage {
  private readonly _weights: Map<string, tf.Variable>;
  private _updates: number;

  /**
   * Averages over about `steps` steps; starts from `state` (a checkpoint's), or from `start` (the
   * current weights: the first update replaces them).
   */
  constructor(
    readonly steps: number,
    start: ReadonlyMap<string, tf.Variable>,
    state?: WeightAverageState,
  ) {
    if (!(Number.isInteger(steps) && steps >= 1)) throw new Error(`The weight average needs a whole number of steps >= 1, got ${steps}.`);
    this._updates = state?.updates ?? 0;
    this._weights = new Map(
      [...start].map(([name, variable]) => {
        const saved = state?.weights.get(name);
        if (state && saved?.length !== variable.size) throw new Error(`The checkpoint's weight average has no usable "${name}".`);
        return [name, tf.variable(saved ? tf.tensor(saved, variable.shape) : variable.clone(), false)] as const;
      }),
    );
  }

  /** The averaged weights, by the network's variable names. */
  get variables(): ReadonlyMap<string, tf.Variable> {
    return this._weights;
  }

  get updates(): number {
    return this._updates;
  }

  /** Folds in the weights after a step. */
  update(variables: ReadonlyMap<string, tf.Variable>): void {
    this._updates++;
    // The running mean while fewer than `steps` updates are in (1 - 1/n), then a fixed decay.
    const keep = Math.min(1 - 1 / this.steps, 1 - 1 / this._updates);
    tf.tidy(() => {
      for (const [name, average] of this._weights) average.assign(tf.add(tf.mul(average, keep), tf.mul(variables.get(name)!, 1 - keep)));
    });
  }

  async saveState(): Promise<WeightAverageState> {
    const weights = new Map<string, Float32Array>();
    for (const [name, variable] of this._weights) weights.set(name, (await variable.data()) as Float32Array);
    return { updates: this._updates, weights };
  }

  dispose(): void {
    for (const variable of this._weights.values()) variable.dispose();
  }
}
