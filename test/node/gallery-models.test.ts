// The styles the demo and the gallery ship (demo/models/*): each loads (shard hashes checked),
// keeps the gallery's packaging (float16 or uint8, shards of at most 1 MiB), paints a picture,
// has a model card with what the gallery asks of one, and, where ../shared holds the photos and
// VGG19, `nst eval` on the gallery's protocol reproduces the figures its card states.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { loadStyleModelFromDisk } from '../../trainer/src/model-files.js';
import { DEFAULT_CONTENT_LAYER, DEFAULT_STYLE_LAYERS } from '../../trainer/src/training/defaults.js';
import { evaluateModel } from '../../trainer/src/training/evaluate.js';
import { useBackend } from '../support/node-backend.js';
import { SHARED_DATA, SHARED_PHOTOS, SHARED_VGG, sharedDataMissing } from '../support/trainer-fixtures.js';

const MODELS = 'demo/models';
const MAX_SHARD_BYTES = 2 ** 20;
/** The gallery's bar: style loss at most this percentage of the identity's, content loss at most this. */
const BAR = { stylePercent: 7, contentLoss: 300_000 };

const folders = readdirSync(MODELS).filter((name) => existsSync(join(MODELS, name, 'model.json'))).sort();

/** The figures a card's status line states: "style **6.39 %** of identity and content loss **291,422**". */
function cardFigures(card: string): { stylePercent: number; decimals: number; contentLoss: number } {
  const match = /style \*\*(\d+(?:\.(\d+))?) ?%\*\* of\s+identity and content loss\s+\*\*([\d,]+)\*\*/.exec(card);
  assert.ok(match, 'the card states "style **X %** of identity and content loss **Y**"');
  return { stylePercent: Number(match[1]), decimals: match[2]?.length ?? 0, contentLoss: Number(match[3].replaceAll(',', '')) };
}

describe('the shipped styles (demo/models)', () => {
  it('there are styles to ship', () => {
    assert.ok(folders.length >= 4, folders.join(', '));
  });

  for (const folder of folders) {
    const directory = join(MODELS, folder);

    it(`${folder}: loads, float16 or uint8 in shards of at most 1 MiB, and paints a picture`, async () => {
      await useBackend('wasm');
      const model = await loadStyleModelFromDisk(directory);
      try {
        assert.ok(['float16', 'uint8'].includes(model.metadata.storage), model.metadata.storage);
        for (const shard of readdirSync(directory).filter((name) => name.endsWith('.bin'))) {
          assert.ok(statSync(join(directory, shard)).size <= MAX_SHARD_BYTES, `${shard} is over 1 MiB`);
        }
        const photo = tf.tidy(() => tf.add(tf.mul(tf.randomUniform([1, 32, 32, 3], 0, 1, 'float32', 5), 200), 20) as tf.Tensor4D);
        const painted = model.predict(photo);
        const [out, input] = [Float32Array.from(await painted.data()), Float32Array.from(await photo.data())];
        tf.dispose([photo, painted]);
        assert.ok(out.every((v) => Number.isFinite(v) && v >= 0 && v <= 255));
        const meanChange = out.reduce((sum, v, i) => sum + Math.abs(v - input[i]), 0) / out.length;
        assert.ok(meanChange > 5, `the picture changed by ${meanChange} on average`);
      } finally {
        model.dispose();
      }
    });

    it(`${folder}: its model card names the painting, the commands, the hardware, the figures and the weaknesses`, async () => {
      const card = await readFile(join(directory, 'TRAINING.md'), 'utf8');
      for (const needed of ['**Painting:**', 'Public domain', 'npx nst train', 'Hardware', '## Evaluation', 'npx nst eval', '## Known weaknesses']) {
        assert.ok(card.includes(needed), `the card has ${needed}`);
      }
      const { stylePercent, contentLoss } = cardFigures(card);
      const atBar = stylePercent <= BAR.stylePercent && contentLoss <= BAR.contentLoss;
      assert.equal(/\*\*Status: meets the gallery's bar/.test(card), atBar, `the status agrees with ${stylePercent} % / ${contentLoss}`);
    });

    it(`${folder}: nst eval on the gallery's protocol reproduces its card's figures`, async (t) => {
      const missing = sharedDataMissing();
      if (missing) return t.skip(missing);
      await useBackend('wasm');
      const model = await loadStyleModelFromDisk(directory);
      const painting = join(SHARED_DATA, 'styles', model.metadata.style.image ?? `${folder}.jpg`);
      if (!existsSync(painting)) {
        model.dispose();
        return t.skip(`needs ${painting}`);
      }
      const card = cardFigures(await readFile(join(directory, 'TRAINING.md'), 'utf8'));
      try {
        const result = await evaluateModel(model, {
          style: painting, content: SHARED_PHOTOS, vgg: SHARED_VGG, size: 256, styleLongSide: 512,
          contentLayer: DEFAULT_CONTENT_LAYER, styleLayers: [...DEFAULT_STYLE_LAYERS], limit: 100,
        });
        // The card rounds: to its digits, plus float noise from thread counts.
        assert.ok(Math.abs(result.stylePercentOfIdentity - card.stylePercent) <= 0.5 * 10 ** -card.decimals + 0.01, `style ${result.stylePercentOfIdentity} % against the card's ${card.stylePercent} %`);
        assert.ok(Math.abs(result.contentLoss - card.contentLoss) <= Math.max(1, 2e-4 * card.contentLoss), `content ${result.contentLoss} against the card's ${card.contentLoss}`);
      } finally {
        model.dispose();
      }
    });
  }
});
