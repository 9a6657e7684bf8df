/**
 * Grows a trained network into a wider and deeper one that paints exactly the same pictures
 * (Net2Net, Chen et al. 2016), so that `nst train --init <slim model> --arch full` continues a
 * style with the larger network's capacity instead of starting it again from random weights.
 *
 * - Wider: each new channel copies an old one (new channel j copies j mod old width): the kernels
 *   that produce it and its norm's scale and offset are the old channel's, so its activations are
 *   the old channel's. A kernel that reads a channel with n copies splits each old weight among
 *   the copies with random shares that sum to 1: the sum it computes is unchanged, and because the
 *   shares differ from weight to weight the copies get different gradients and drift apart (equal
 *   halves would keep them identical for ever: Adam's step ignores a constant scale).
 * - Deeper: the new residual blocks come after the old ones with random kernels and their last
 *   norm's scale and offset at zero, so each adds nothing to its input until training grows it.
 */
import {
  initialTransformerWeights,
  seededRandom,
  transformerWeightSpecs,
  type ChannelAxis,
  type TransformerArchitecture,
  type WeightSpec,
} from 'nst-video/model';

/** Why `from` cannot be grown into `to`, or null when it can. */
export function cannotWiden(from: TransformerArchitecture, to: TransformerArchitecture): string | null {
  if (to.channels.some((width, i) => width < from.channels[i])) return `its channels ${from.channels.join('/')} are wider than ${to.channels.join('/')}`;
  if (to.residualBlocks < from.residualBlocks) return `it has ${from.residualBlocks} residual blocks, more than ${to.residualBlocks}`;
  return null;
}

/** `weights` of a `from` network as a `to` network's (see the file comment); `seed` picks the shares. */
export function widenTransformerWeights(
  weights: ReadonlyMap<string, Float32Array>,
  from: TransformerArchitecture,
  to: TransformerArchitecture,
  seed: number,
): Map<string, Float32Array> {
  const reason = cannotWiden(from, to);
  if (reason) throw new Error(`Cannot grow this network: ${reason}.`);
  const random = seededRandom(seed);
  // The new blocks' kernels: fresh, as a new network's would be.
  const fresh = initialTransformerWeights(to, seed);
  const oldSpecs = new Map(transformerWeightSpecs(from).map((spec) => [spec.name, spec]));
  const widened = new Map<string, Float32Array>();
  for (const spec of transformerWeightSpecs(to)) {
    const oldSpec = oldSpecs.get(spec.name);
    const old = weights.get(spec.name);
    if (!oldSpec) {
      widened.set(spec.name, isLastNormOfBlock(spec.name) ? new Float32Array(fresh.get(spec.name)!.length) : fresh.get(spec.name)!);
      continue;
    }
    if (!old) throw new Error(`The model has no weight "${spec.name}".`);
    widened.set(spec.name, widenWeight(old, oldSpec, spec, from, random));
  }
  return widened;
}

/** The norm whose scale and offset decide what a residual block adds to its input. */
function isLastNormOfBlock(name: string): boolean {
  return /^res\d+\/in2\//.test(name);
}

/** One weight, its channel axes copied to their new widths; a kernel's input axis split (shares). */
function widenWeight(old: Float32Array, oldSpec: WeightSpec, spec: WeightSpec, from: TransformerArchitecture, random: () => number): Float32Array {
  const oldWidth = (axis: ChannelAxis, size: number) => (axis === null ? size : from.channels[axis]);
  const oldShape = oldSpec.shape;
  const inputAxis = spec.init === 'conv-kernel' ? 2 : -1;
  // How many copies each old index of the input axis has (to split its weights among them).
  const copies = inputAxis < 0 ? [] : copyCounts(oldShape[inputAxis], spec.shape[inputAxis]);
  const shares = new ShareDealer(random);
  const out = new Float32Array(spec.shape.reduce((a, b) => a * b, 1));
  const index = new Array<number>(spec.shape.length).fill(0);
  for (let flat = 0; flat < out.length; flat++) {
    let oldFlat = 0;
    // The copies of one input channel that feed one output channel split one weight: this names it.
    let splitWeight = 0;
    for (let axis = 0; axis < spec.shape.length; axis++) {
      const oldIndex = index[axis] % oldWidth(spec.channelAxes[axis], oldShape[axis]);
      oldFlat = oldFlat * oldShape[axis] + oldIndex;
      splitWeight = splitWeight * spec.shape[axis] + (axis === inputAxis ? oldIndex : index[axis]);
    }
    const value = old[oldFlat];
    out[flat] = inputAxis < 0 ? value : value * shares.next(splitWeight, copies[index[inputAxis] % oldShape[inputAxis]]);
    for (let axis = spec.shape.length - 1; axis >= 0; axis--) {
      if (++index[axis] < spec.shape[axis]) break;
      index[axis] = 0;
    }
  }
  return out;
}

/** copies[i]: how many of `newWidth` channels (j mod oldWidth) are copies of old channel i. */
function copyCounts(oldWidth: number, newWidth: number): number[] {
  return Array.from({ length: oldWidth }, (_, i) => Math.floor((newWidth - 1 - i) / oldWidth) + 1);
}

/**
 * Random shares of each old weight, one per copy, summing to 1: every copy of an old weight asks
 * for its share in turn; the last copy gets what is left. Shares are 0.5 to 1.5 times an even
 * split before normalising, so no copy starts near zero.
 */
class ShareDealer {
  private readonly pending = new Map<number, number[]>();
  constructor(private readonly random: () => number) {}

  next(weight: number, copies: number): number {
    if (copies === 1) return 1;
    let shares = this.pending.get(weight);
    if (!shares) {
      const raw = Array.from({ length: copies }, () => 0.5 + this.random());
      const total = raw.reduce((a, b) => a + b, 0);
      shares = raw.map((r) => r / total);
      this.pending.set(weight, shares);
    }
    const share = shares.pop()!;
    if (shares.length === 0) this.pending.delete(weight);
    return share;
  }
}
