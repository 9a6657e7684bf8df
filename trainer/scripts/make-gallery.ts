/**
 * `npm run gallery`: the README's gallery, made from the shipped models. For every style model under
 * --models (a folder holding model.json, as in demo/models/), one strip: the painting it was trained
 * on, a photo, and that photo through the model, side by side at --height pixels, written as
 * <out>/<style folder>.jpg (replacing the one there). The painting is the file the model records
 * in userDefinedMetadata.nst.style.image (nst train writes there the name of its --style file),
 * looked up in --paintings. The photo is stylised at the panel's size, as `nst stylize --size`
 * would, through the same trainer code: image-io's decoder, the model reader and StyleModel.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { MIN_INPUT_SIZE, MODEL_JSON_FILE, StyleModel, type DecodedStyleModel, type RgbaPixels } from 'nst-video/model';
import { readRgbImage, writeImage, type RgbImage } from '../src/image-io.js';
import { readStyleModelFromDisk } from '../src/model-files.js';
import { NODE_BACKENDS, selectNodeBackend, type NodeBackendPreference } from '../src/node-backend.js';
import { atLeast, threadsOption, wholeNumberIn } from '../src/cli-options.js';

export interface GalleryOptions {
  /** Folder of style models, one folder each. */
  models: string;
  /** Folder holding the paintings the models name. */
  paintings: string;
  /** The photo every model stylises. */
  photo: string;
  /** Folder the strips are written into (made if absent). */
  out: string;
  /** Height of every panel, in pixels. */
  height: number;
  /** JPEG quality of the strips, 1 to 100. */
  quality: number;
  backend: NodeBackendPreference;
  threads: number;
}

export interface GalleryStrip {
  style: string;
  path: string;
  width: number;
  height: number;
  /** Where each panel starts, in pixels from the left: the painting, the photo, the stylised photo. */
  panelLefts: number[];
}

/** White columns between the panels, in pixels. */
const GAP = 4;

/** Makes one strip per model; every input is checked before any model runs. */
export async function makeGallery(options: GalleryOptions): Promise<GalleryStrip[]> {
  const styles = await readStyles(options);
  if (!existsSync(options.photo)) throw new Error(`--photo "${options.photo}" does not exist; pass --photo <a JPEG, PNG or WebP photo>.`);
  await selectNodeBackend(options.backend, { threads: options.threads });
  const photo = await readRgbImage(options.photo, { height: options.height });
  await mkdir(options.out, { recursive: true });
  const strips: GalleryStrip[] = [];
  for (const style of styles) {
    const painting = await readRgbImage(style.painting, { height: options.height });
    const model = new StyleModel(style.decoded);
    let stylised: RgbaPixels;
    try {
      stylised = await model.stylizePixels(photo);
    } finally {
      model.dispose();
    }
    const { pixels, panelLefts } = sideBySide([painting, photo, stylised]);
    const path = join(options.out, `${style.folder}.jpg`);
    await writeImage(path, pixels, { quality: options.quality });
    strips.push({ style: style.folder, path, width: pixels.width, height: pixels.height, panelLefts });
  }
  return strips;
}

interface GalleryStyle {
  /** The model's folder name, which names its strip. */
  folder: string;
  decoded: DecodedStyleModel;
  painting: string;
}

/** Every model under --models with the painting it names, sorted by folder; throws naming the flag to change. */
async function readStyles(options: GalleryOptions): Promise<GalleryStyle[]> {
  const entries = await readdir(options.models, { withFileTypes: true }).catch(() => {
    throw new Error(`--models "${options.models}" is not a folder; pass --models <a folder of style models, one folder each>.`);
  });
  const folders = entries.filter((e) => e.isDirectory() && existsSync(join(options.models, e.name, MODEL_JSON_FILE))).map((e) => e.name).sort();
  if (folders.length === 0) throw new Error(`--models "${options.models}" holds no style model (a folder with ${MODEL_JSON_FILE}); pass --models <a folder of style models>.`);
  if (!existsSync(options.paintings)) {
    throw new Error(`--paintings "${options.paintings}" does not exist; pass --paintings <the folder of the paintings the models were trained on>.`);
  }
  const styles: GalleryStyle[] = [];
  for (const folder of folders) {
    const modelPath = join(options.models, folder);
    const decoded = await readStyleModelFromDisk(modelPath);
    const image = decoded.metadata.style.image;
    if (!image) {
      throw new Error(`${join(modelPath, MODEL_JSON_FILE)} names no painting (userDefinedMetadata.nst.style.image, which nst train fills from --style); add the painting's file name there.`);
    }
    const painting = join(options.paintings, image);
    if (!existsSync(painting)) {
      throw new Error(`--paintings "${options.paintings}" has no ${image}, the painting ${modelPath} was trained on; pass --paintings <the folder that holds it>.`);
    }
    styles.push({ folder, decoded, painting });
  }
  return styles;
}

/** Panels of the same height (RGB or RGBA) side by side, GAP white columns apart, as RGBA. */
function sideBySide(panels: readonly (RgbImage | RgbaPixels)[]): { pixels: RgbaPixels; panelLefts: number[] } {
  const height = panels[0].height;
  const panelLefts: number[] = [];
  let width = 0;
  for (const panel of panels) {
    if (panel.height !== height) throw new Error(`sideBySide: panels must share one height; got ${panel.height} and ${height}.`);
    panelLefts.push(width === 0 ? 0 : width + GAP);
    width = panelLefts[panelLefts.length - 1] + panel.width;
  }
  const data = new Uint8ClampedArray(width * height * 4).fill(255);
  panels.forEach((panel, index) => {
    const channels = panel.data.length / (panel.width * panel.height);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < panel.width; x++) {
        const from = (y * panel.width + x) * channels;
        const to = (y * width + panelLefts[index] + x) * 4;
        data[to] = panel.data[from];
        data[to + 1] = panel.data[from + 1];
        data[to + 2] = panel.data[from + 2];
      }
    }
  });
  return { pixels: { data, width, height }, panelLefts };
}

function buildProgram(): Command {
  return new Command('make-gallery')
    .description('Write one JPEG strip per style model: the painting, a photo and the photo stylised by the model, side by side.')
    .requiredOption('--paintings <dir>', 'folder of the paintings the models were trained on (each model names its file)')
    .requiredOption('--photo <image>', 'the photo every model stylises (JPEG, PNG or WebP)')
    .option('--models <dir>', 'folder of style models, one folder each', 'demo/models')
    .option('--out <dir>', 'folder the strips are written into, as <style folder>.jpg', 'docs/gallery')
    .addOption(new Option('--height <px>', `height of every panel, at least ${MIN_INPUT_SIZE}`).argParser(atLeast(MIN_INPUT_SIZE)).default(256))
    .addOption(new Option('--quality <1..100>', 'JPEG quality of the strips').argParser(wholeNumberIn(1, 100)).default(85))
    .addOption(new Option('--backend <name>', 'tfjs backend').choices(['auto', ...NODE_BACKENDS]).default('auto'))
    .addOption(threadsOption());
}

// Run as a script (npm run gallery), not when a test imports makeGallery.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const options = buildProgram().parse().opts<GalleryOptions>();
  try {
    const started = performance.now();
    for (const strip of await makeGallery(options)) console.log(`Wrote ${relative(process.cwd(), strip.path)} (${strip.width}x${strip.height}).`);
    console.log(`Done in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
  } catch (error) {
    console.error(`make-gallery: ${(error as Error).message}`);
    process.exitCode = 1;
  }
}
