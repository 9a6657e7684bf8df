// `nst transcode` as a user runs it: one clip through headless Chromium (checked with ffprobe),
// a file that is not a video, and the refusals made before Chromium starts. Nothing partial is
// ever left behind.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ARCHITECTURE_PRESETS, encodeRandomStyleModel } from 'nst-video/model';
import { writeStyleModel } from '../../trainer/src/model-files.js';
import { DEFAULT_STYLE_DIR } from '../../plugin/scripts/default-style.mjs';
import { nstProcess as nst } from '../support/nst-cli.js';
import { probeVideo } from '../support/video-probe.js';

const CLIP = join(process.cwd(), '..', 'shared', 'data', 'video', 'pedestrians_3s.mp4');

describe('nst transcode', { skip: !existsSync(CLIP) && `${CLIP} is missing` }, () => {
  let dir: string;
  let model: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nst-transcode-cli-'));
    model = join(dir, 'model');
    await writeStyleModel(model, await encodeRandomStyleModel({ architecture: ARCHITECTURE_PRESETS.slim, seed: 7, storage: 'float32', style: { name: 'transcode-cli' }, generatedBy: 'nst-video tests' }));
  });

  after(() => rm(dir, { recursive: true, force: true }));

  it('writes every frame and the sound, with progress on stderr', async () => {
    const output = join(dir, 'out.mp4');
    const { code, stdout, stderr } = await nst('transcode', CLIP, output, '--model', model, '--size', '32');
    assert.equal(code, 0, stderr);
    assert.match(stdout, /Wrote .*out\.mp4 \(mp4, .* 30 frames\)/);
    assert.match(stderr, /frame 30\/30 +[\d.]+ fps +ETA 0 s/);
    const [written, input] = [probeVideo(output), probeVideo(CLIP)];
    assert.equal(written.video?.frames, input.video?.frames);
    assert.ok(Math.abs(written.video!.duration - input.video!.duration) <= 0.1, `video ${written.video!.duration} s`);
    assert.equal(written.audio?.codec, 'aac');
    assert.ok(Math.abs(written.audio!.duration - input.audio!.duration) <= 0.1, `audio ${written.audio!.duration} s`);

    const again = await nst('transcode', CLIP, output, '--model', model);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /exists; pass --force/);
  });

  it('without --model transcodes in the default style and names it', async () => {
    const style = JSON.parse(await readFile(join(DEFAULT_STYLE_DIR, 'model.json'), 'utf8')).userDefinedMetadata.nst.style.name;
    const output = join(dir, 'default-style.mp4');
    const { code, stdout, stderr } = await nst('transcode', CLIP, output, '--size', '32');
    assert.equal(code, 0, stderr);
    assert.ok(stdout.includes(`30 frames) in the style "${style}"`), stdout);
    assert.equal(probeVideo(output).video?.frames, 30);
  });

  it('a file that is not a video: exit 1 with the reason, no output and no partial file', async () => {
    const input = join(dir, 'notes.mp4');
    await writeFile(input, 'these are notes, not a video\n'.repeat(50));
    const output = join(dir, 'bad-out.webm');
    const { code, stderr } = await nst('transcode', input, output, '--model', model, '--size', '32');
    assert.equal(code, 1);
    assert.match(stderr, /not a video file .*\(not-media\)/);
    assert.deepEqual((await readdir(dir)).filter((name) => name.includes('bad-out')), []);
  });

  it('refuses before any work: its own input, a bad flag value, an unknown extension', async () => {
    const same = await nst('transcode', CLIP, CLIP, '--model', model, '--force');
    assert.equal(same.code, 2);
    assert.match(same.stderr, /is the <input> video/);
    const strength = await nst('transcode', CLIP, join(dir, 'x.mp4'), '--model', model, '--strength', '2');
    assert.equal(strength.code, 2);
    assert.match(strength.stderr, /--strength.*from 0 to 1/);
    const extension = await nst('transcode', CLIP, join(dir, 'x.avi'), '--model', model);
    assert.equal(extension.code, 2);
    assert.match(extension.stderr, /\.mp4 or \.webm/);
  });
});
