// loadStyleModel + stylize in the browser: every backend, agreement with Node, and loader errors.
import { expect } from 'chai';
import { executeServerCommand } from '@web/test-runner-commands';
import * as tf from '@tensorflow/tfjs-core';
import { BROWSER_BACKENDS, NstModelError, loadStyleModel, selectBackend } from '../../plugin/src/index.js';

const MODEL_URL = '/test/generated/models/slim-7/model.json';
const WASM_PATHS = '/node_modules/@tensorflow/tfjs-backend-wasm/dist/';
const [WIDTH, HEIGHT] = [32, 24];

/** A deterministic picture with edges, gradients and colour, so the network has work to do. */
function testPixels(): number[] {
  const pixels: number[] = [];
  for (let y = 0; y < HEIGHT; y++) {
    for (let x = 0; x < WIDTH; x++) {
      const inSquare = x > 8 && x < 20 && y > 6 && y < 16;
      pixels.push(inSquare ? 230 : x * 7, inSquare ? 40 : y * 9, (x * y) % 255);
    }
  }
  return pixels;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).to.equal(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

describe('stylize on each tfjs backend', function () {
  const outputs = new Map<string, Float32Array>();

  for (const backend of BROWSER_BACKENDS) {
    it(`${backend}: loads the model, stylizes, and leaks no tensors`, async () => {
      const model = await loadStyleModel(MODEL_URL, { backend, wasmPaths: WASM_PATHS });
      expect(model.backend.backend).to.equal(backend);
      expect(tf.getBackend()).to.equal(backend);
      const before = tf.memory().numTensors;
      const input = tf.tensor3d(testPixels(), [HEIGHT, WIDTH, 3]);
      const output = model.stylizeTensor(input);
      expect(output.shape).to.deep.equal([HEIGHT, WIDTH, 3]);
      outputs.set(backend, (await output.data()) as Float32Array);
      tf.dispose([input, output]);
      expect(tf.memory().numTensors).to.equal(before);
      model.dispose();
    });
  }

  it('all four backends agree to within 0.05 on the 0..255 output', () => {
    const reference = outputs.get('cpu');
    expect(reference, 'cpu output').to.exist;
    const spread = Math.max(...reference!) - Math.min(...reference!);
    expect(spread, 'output varies across the picture').to.be.greaterThan(10);
    for (const backend of BROWSER_BACKENDS) {
      expect(outputs.has(backend), `${backend} output`).to.equal(true);
      expect(maxAbsDiff(outputs.get(backend)!, reference!), `${backend} vs cpu`).to.be.lessThan(0.05);
    }
  });

  it('Node (wasm backend, same model file) agrees with the browser', async () => {
    const node = (await executeServerCommand('nst-node-stylize', { model: MODEL_URL, pixels: testPixels(), width: WIDTH, height: HEIGHT })) as {
      data: number[];
      width: number;
      height: number;
    };
    expect([node.width, node.height]).to.deep.equal([WIDTH, HEIGHT]);
    for (const backend of BROWSER_BACKENDS) {
      expect(maxAbsDiff(node.data, outputs.get(backend)!), `node vs browser ${backend}`).to.be.lessThan(0.05);
    }
  });
});

describe('BrowserStyleModel.stylize', () => {
  it('takes a canvas and returns ImageData with the requested short side', async () => {
    const model = await loadStyleModel(MODEL_URL, { backend: 'wasm', wasmPaths: WASM_PATHS });
    const canvas = document.createElement('canvas');
    [canvas.width, canvas.height] = [90, 60];
    const context = canvas.getContext('2d')!;
    context.fillStyle = '#3070c0';
    context.fillRect(0, 0, 90, 60);
    context.fillStyle = '#f0d020';
    context.fillRect(20, 10, 30, 30);
    const before = tf.memory().numTensors;
    const result = await model.stylize(canvas, { size: 32 });
    expect(result).to.be.instanceOf(ImageData);
    expect([result.width, result.height]).to.deep.equal([48, 32]);
    expect(tf.memory().numTensors).to.equal(before);
    const alpha = new Set(result.data.filter((_, i) => i % 4 === 3));
    expect([...alpha]).to.deep.equal([255]);
    model.dispose();
  });

  it('loads from File objects, as from an <input type=file multiple>', async () => {
    const json = await (await fetch(MODEL_URL)).blob();
    // Every shard model.json lists (the float32 fixture is two at the default 1 MiB shard size).
    const paths = (JSON.parse(await json.text()) as { weightsManifest: { paths: string[] }[] }).weightsManifest.flatMap((group) => group.paths);
    expect(paths).to.deep.equal(['group1-shard1of2.bin', 'group1-shard2of2.bin']);
    const shards = await Promise.all(paths.map(async (path) => new File([await (await fetch(`/test/generated/models/slim-7/${path}`)).blob()], path)));
    const files = [new File([json], 'model.json'), ...shards];
    const model = await loadStyleModel(files, { backend: 'wasm', wasmPaths: WASM_PATHS });
    expect(model.styleName).to.equal('fixture-slim-7');
    model.dispose();
  });
});

describe('loadStyleModel: progress and the default style', () => {
  it('onProgress counts the shard bytes model.json records, from 0 to all of them', async () => {
    const records = (await (await fetch(MODEL_URL)).json()).userDefinedMetadata.nst.shards as { bytes: number }[];
    const totalBytes = records.reduce((sum, record) => sum + record.bytes, 0);
    const seen: { loadedBytes: number; totalBytes: number }[] = [];
    const model = await loadStyleModel(MODEL_URL, { backend: 'wasm', wasmPaths: WASM_PATHS, onProgress: (progress) => seen.push(progress) });
    model.dispose();
    expect(seen[0]).to.deep.equal({ loadedBytes: 0, totalBytes });
    expect(seen.at(-1)).to.deep.equal({ loadedBytes: totalBytes, totalBytes });
    for (let i = 1; i < seen.length; i++) expect(seen[i].loadedBytes, 'each call has more bytes than the last').to.be.greaterThan(seen[i - 1].loadedBytes);
  });

  it('without a source loads the package\'s default style (models/default/ beside the code)', async () => {
    const expected = (await (await fetch(new URL('./models/default/model.json', import.meta.url))).json()).userDefinedMetadata.nst.style.name;
    let last = { loadedBytes: 0, totalBytes: -1 };
    const model = await loadStyleModel(undefined, { backend: 'wasm', wasmPaths: WASM_PATHS, onProgress: (progress) => (last = progress) });
    expect(model.styleName).to.equal(expected);
    expect(last.loadedBytes, 'all of it arrived').to.equal(last.totalBytes);
    model.dispose();
  });
});

describe('loadStyleModel errors name the problem', () => {
  async function loadError(source: Parameters<typeof loadStyleModel>[0]): Promise<NstModelError> {
    try {
      await loadStyleModel(source, { backend: 'cpu' });
    } catch (error) {
      expect(error).to.be.instanceOf(NstModelError);
      return error as NstModelError;
    }
    throw new Error('loadStyleModel resolved; expected an error');
  }

  it('a missing model (HTTP 404)', async () => {
    const error = await loadError('/test/generated/models/no-such-model/');
    expect(error.code).to.equal('fetch-failed');
    expect(error.message).to.contain('no-such-model/model.json').and.contain('404');
  });

  it('a corrupt shard', async () => {
    const error = await loadError('/test/generated/models/slim-7-corrupt-shard/model.json');
    expect(error.code).to.equal('checksum-mismatch');
    expect(error.message).to.contain('group1-shard1of2.bin');
  });

  it('a truncated shard', async () => {
    const error = await loadError('/test/generated/models/slim-7-truncated-shard/model.json');
    expect(error.code).to.equal('truncated-shard');
    expect(error.message).to.contain('group1-shard1of2.bin');
  });

  it('picked files without their shard', async () => {
    const json = await (await fetch(MODEL_URL)).blob();
    const error = await loadError([new File([json], 'model.json')]);
    expect(error.code).to.equal('missing-shard');
    expect(error.message).to.contain('group1-shard1of2.bin');
  });
});

describe('selectBackend', () => {
  it('auto skips this machine\'s software GPU (SwiftShader) for wasm, and says why', async () => {
    const choice = await selectBackend({ wasmPaths: WASM_PATHS });
    expect(choice.reason).to.match(/^auto: /);
    if (choice.backend === 'wasm') expect(choice.reason).to.match(/software|no webgpu|no webgl/i);
    else expect(choice.software).to.equal(false);
  });

  it('rejects an unknown backend name', async () => {
    let error: unknown;
    await selectBackend({ backend: 'metal' as never }).catch((e) => (error = e));
    expect(String(error)).to.contain('backend must be');
  });
});
