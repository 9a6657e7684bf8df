/**
 * An independent TransformerNet written with plain loops over Float64Array: reflect padding,
 * convolution, instance norm, nearest upsampling, ReLU and the sigmoid output. It imports nothing
 * from the plugin, so a mistake in the tfjs path cannot hide in both places. Slow; for tiny inputs.
 */

/** [height, width, channels] image, row-major, channels last. */
export interface PlainImage {
  height: number;
  width: number;
  channels: number;
  data: Float64Array;
}

export type PlainWeights = ReadonlyMap<string, ArrayLike<number>>;

export function plainTransformer(weights: PlainWeights, residualBlocks: number, input: PlainImage): PlainImage {
  const get = (name: string) => {
    const values = weights.get(name);
    if (!values) throw new Error(`reference: no weight ${name}`);
    return values;
  };
  const layer = (x: PlainImage, conv: string, norm: string, stride: number, kernelSize: number, relu: boolean) => {
    const y = conv2dReflect(x, get(`${conv}/kernel`), kernelSize, stride);
    const z = instanceNormPlain(y, get(`${norm}/scale`), get(`${norm}/offset`));
    return relu ? map(z, (v) => Math.max(0, v)) : z;
  };
  let x = map(input, (v) => v / 255);
  x = layer(x, 'conv1', 'in1', 1, 9, true);
  x = layer(x, 'conv2', 'in2', 2, 3, true);
  x = layer(x, 'conv3', 'in3', 2, 3, true);
  for (let block = 1; block <= residualBlocks; block++) {
    const y = layer(x, `res${block}/conv1`, `res${block}/in1`, 1, 3, true);
    const z = layer(y, `res${block}/conv2`, `res${block}/in2`, 1, 3, false);
    x = { ...x, data: x.data.map((v, i) => v + z.data[i]) };
  }
  x = layer(upsample2x(x), 'up1', 'in4', 1, 3, true);
  x = layer(upsample2x(x), 'up2', 'in5', 1, 3, true);
  const logits = conv2dReflect(x, get('conv_out/kernel'), 9, 1);
  const bias = get('conv_out/bias');
  return { ...logits, data: logits.data.map((v, i) => 255 / (1 + Math.exp(-(v + bias[i % 3])))) };
}

function map(x: PlainImage, f: (v: number) => number): PlainImage {
  return { ...x, data: x.data.map(f) };
}

/** Index into the picture with edge reflection (no repeat of the border pixel), as ReflectionPad2d. */
function reflect(i: number, n: number): number {
  if (i < 0) return -i;
  if (i >= n) return 2 * (n - 1) - i;
  return i;
}

/** Reflect-padded convolution with a [k, k, in, out] kernel; output size ceil(n / stride). */
export function conv2dReflect(x: PlainImage, kernel: ArrayLike<number>, k: number, stride: number): PlainImage {
  const pad = Math.floor(k / 2);
  const cin = x.channels;
  const cout = kernel.length / (k * k * cin);
  const height = Math.floor((x.height + 2 * pad - k) / stride) + 1;
  const width = Math.floor((x.width + 2 * pad - k) / stride) + 1;
  const out = new Float64Array(height * width * cout);
  for (let oy = 0; oy < height; oy++) {
    for (let ox = 0; ox < width; ox++) {
      for (let ky = 0; ky < k; ky++) {
        const iy = reflect(oy * stride + ky - pad, x.height);
        for (let kx = 0; kx < k; kx++) {
          const ix = reflect(ox * stride + kx - pad, x.width);
          for (let ci = 0; ci < cin; ci++) {
            const v = x.data[(iy * x.width + ix) * cin + ci];
            const kernelBase = ((ky * k + kx) * cin + ci) * cout;
            const outBase = (oy * width + ox) * cout;
            for (let co = 0; co < cout; co++) out[outBase + co] += v * kernel[kernelBase + co];
          }
        }
      }
    }
  }
  return { height, width, channels: cout, data: out };
}

/** Per-channel (x - mean) / sqrt(biased variance + 1e-5) * scale + offset. */
export function instanceNormPlain(x: PlainImage, scale: ArrayLike<number>, offset: ArrayLike<number>): PlainImage {
  const n = x.height * x.width;
  const out = new Float64Array(x.data.length);
  for (let c = 0; c < x.channels; c++) {
    let mean = 0;
    for (let p = 0; p < n; p++) mean += x.data[p * x.channels + c];
    mean /= n;
    let variance = 0;
    for (let p = 0; p < n; p++) variance += (x.data[p * x.channels + c] - mean) ** 2;
    variance /= n;
    const inv = 1 / Math.sqrt(variance + 1e-5);
    for (let p = 0; p < n; p++) out[p * x.channels + c] = (x.data[p * x.channels + c] - mean) * inv * scale[c] + offset[c];
  }
  return { ...x, data: out };
}

export function upsample2x(x: PlainImage): PlainImage {
  const height = x.height * 2;
  const width = x.width * 2;
  const out = new Float64Array(height * width * x.channels);
  for (let y = 0; y < height; y++) {
    for (let xx = 0; xx < width; xx++) {
      for (let c = 0; c < x.channels; c++) {
        out[(y * width + xx) * x.channels + c] = x.data[((y >> 1) * x.width + (xx >> 1)) * x.channels + c];
      }
    }
  }
  return { height, width, channels: x.channels, data: out };
}
