/**
 * Adam (Kingma & Ba 2015) with state that can be saved and restored bit for bit.
 *
 * tfjs's `tf.train.adam` keeps beta^t as a running product but restores it with `pow` in
 * `setWeights`, which rounds differently, so a resumed run drifts from an uninterrupted one. Here
 * the bias corrections are computed from the step count in double precision every step.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ADAM_UPDATE_KERNEL, type AdamUpdateAttrs } from '../kernels/adam-update.js';

export interface AdamState {
  step: number;
  /** First and second moments by variable name, float32. */
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
}

export class Adam {
  /** The rate of the next update (a schedule may change it between steps). */
  learningRate: number;
  readonly beta1 = 0.9;
  readonly beta2 = 0.999;
  readonly epsilon = 1e-8;
  private _step = 0;
  private readonly _m = new Map<string, tf.Variable>();
  private readonly _v = new Map<string, tf.Variable>();

  constructor(learningRate: number) {
    this.learningRate = learningRate;
  }

  get step(): number {
    return this._step;
  }

  /** Applies one update; `gradients` are keyed like `variables`. */
  apply(variables: ReadonlyMap<string, tf.Variable>, gradients: ReadonlyMap<string, tf.Tensor>): void {
    this._step++;
    const attrs: AdamUpdateAttrs = {
      learningRate: this.learningRate,
      beta1: this.beta1,
      beta2: this.beta2,
      epsilon: this.epsilon,
      correction1: 1 - Math.pow(this.beta1, this._step),
      correction2: 1 - Math.pow(this.beta2, this._step),
    };
    // One kernel per variable where the backend has it (kernels/adam-update.ts), else tfjs ops.
    const oneKernel = tf.getKernel(ADAM_UPDATE_KERNEL, tf.getBackend()) !== undefined;
    tf.tidy(() => {
      for (const [name, variable] of variables) {
        const gradient = gradients.get(name);
        if (!gradient) throw new Error(`Adam: no gradient for "${name}".`);
        const m = this._moment(this._m, name, variable);
        const v = this._moment(this._v, name, variable);
        const [w1, m1, v1] = oneKernel
          ? (tf.engine().runKernel(ADAM_UPDATE_KERNEL, { variable, m, v, gradient }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[])
          : composedUpdate(variable, m, v, gradient, attrs);
        m.assign(m1);
        v.assign(v1);
        variable.assign(w1);
      }
    });
  }

  private _moment(moments: Map<string, tf.Variable>, name: string, like: tf.Tensor): tf.Variable {
    let moment = moments.get(name);
    if (!moment) {
      moment = tf.variable(tf.zerosLike(like), false);
      moments.set(name, moment);
    }
    return moment;
  }

  async saveState(): Promise<AdamState> {
    const read = async (moments: Map<string, tf.Variable>) =>
      new Map(await Promise.all([...moments].map(async ([name, t]) => [name, (await t.data()) as Float32Array] as const)));
    return { step: this._step, m: await read(this._m), v: await read(this._v) };
  }

  loadState(state: AdamState, variables: ReadonlyMap<string, tf.Variable>): void {
    this.dispose();
    this._step = state.step;
    for (const [target, source] of [[this._m, state.m], [this._v, state.v]] as const) {
      for (const [name, values] of source) {
        const variable = variables.get(name);
        if (!variable) throw new Error(`Adam state names "${name}", which the network does not have.`);
        target.set(name, tf.variable(tf.tensor(values, variable.shape), false));
      }
    }
  }

  dispose(): void {
    for (const moment of [...this._m.values(), ...this._v.values()]) moment.dispose();
    this._m.clear();
    this._v.clear();
  }
}

/** NstAdamUpdate's formula in tfjs ops, for backends without the kernel: new variable, m and v. */
function composedUpdate(variable: tf.Tensor, m: tf.Tensor, v: tf.Tensor, gradient: tf.Tensor, a: AdamUpdateAttrs): tf.Tensor[] {
  const m1 = tf.add(tf.mul(m, a.beta1), tf.mul(gradient, 1 - a.beta1));
  const v1 = tf.add(tf.mul(v, a.beta2), tf.mul(tf.square(gradient), 1 - a.beta2));
  const update = tf.div(tf.div(m1, a.correction1), tf.add(tf.sqrt(tf.div(v1, a.correction2)), a.epsilon));
  return [tf.sub(variable, tf.mul(update, a.learningRate)), m1, v1];
}
