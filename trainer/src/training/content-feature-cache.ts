/**
 * The training photos' VGG features at the content layer, kept from one epoch to the next.
 *
 * With `--crop center` a photo gives the same crop every epoch, so its content-layer features (the
 * content loss's target) never change: computing them again is a VGG forward pass to relu4_2 per
 * photo per step, ~16% of a slim 256 px step on wasm. They are kept in main memory (not as
 * tensors: tfjs-wasm's heap is capped at 4 GiB and holds the training's activations), up to a
 * budget; photos past it are computed every time.
 */
import * as tf from '@tensorflow/tfjs-core';

export class ContentFeatureCache {
  private readonly _features = new Map<string, { values: Float32Array; shape: [number, number, number] }>();
  private _bytes = 0;
  private _reused = 0;

  /** `budgetBytes`: memory the kept features may take (0 keeps nothing). */
  constructor(readonly budgetBytes: number) {}

  /**
   * Content features [count, h, w, c] of the photos `keys` (one key per photo, in batch order):
   * from the cache when every one of them is there, else from `compute()`, whose result is then
   * kept photo by photo while the budget allows. The caller disposes the returned tensor.
   */
  async features(keys: readonly string[], compute: () => tf.Tensor4D): Promise<tf.Tensor4D> {
    const kept = keys.map((key) => this._features.get(key));
    if (kept.every((features): features is NonNullable<typeof features> => features !== undefined)) {
      this._reused += keys.length;
      const { values, shape } = kept[0];
      const all = new Float32Array(values.length * keys.length);
      kept.forEach((features, i) => all.set(features.values, i * values.length));
      return tf.tensor4d(all, [keys.length, ...shape]);
    }
    const computed = compute();
    const [, h, w, c] = computed.shape;
    const perPhoto = h * w * c;
    if (this._bytes + perPhoto * 4 <= this.budgetBytes) {
      const values = (await computed.data()) as Float32Array;
      keys.forEach((key, i) => {
        if (this._features.has(key) || this._bytes + perPhoto * 4 > this.budgetBytes) return;
        this._features.set(key, { values: values.slice(i * perPhoto, (i + 1) * perPhoto), shape: [h, w, c] });
        this._bytes += perPhoto * 4;
      });
    }
    return computed;
  }

  /** Photos whose features came from memory instead of a VGG pass, so far. */
  get reusedPhotos(): number {
    return this._reused;
  }
}
