/** demo/image.html: stylise one photo with a chosen style model, in the browser. */
import { loadStyleModel, type BackendPreference, type BrowserStyleModel, type StyleModelSource } from 'nst-video/loader';
import { addModelOptions, fetchDemoModels } from './shared/demo-models.js';
import { acceptDroppedFile } from './shared/drop-zone.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const modelSelect = $<HTMLSelectElement>('model-select');
const modelFiles = $<HTMLInputElement>('model-files');
const imageFile = $<HTMLInputElement>('image-file');
const sizeSelect = $<HTMLSelectElement>('size-select');
const backendSelect = $<HTMLSelectElement>('backend-select');
const button = $<HTMLButtonElement>('stylize-button');
const statusLine = $<HTMLParagraphElement>('status');
const originalFrame = $<HTMLDivElement>('original-frame');
const resultFrame = $<HTMLDivElement>('result-frame');
const downloadLink = $<HTMLAnchorElement>('download-link');

const WASM_PATHS = '/wasm/';
let photo: HTMLImageElement | undefined;
let model: BrowserStyleModel | undefined;
/** What the loaded model was loaded from, so a changed choice reloads it. */
let loadedKey = '';
let busy = false;

function say(message: string, isError = false): void {
  statusLine.textContent = message;
  statusLine.classList.toggle('error', isError);
}

function updateButton(): void {
  button.disabled = busy || !photo;
}

async function listModels(): Promise<void> {
  try {
    const models = await fetchDemoModels();
    addModelOptions(modelSelect, models);
    say('Choose a photo, then Stylise.');
  } catch (error) {
    say((error as Error).message, true);
  }
  updateButton();
}

function showPhoto(file: File): void {
  const url = URL.createObjectURL(file);
  const image = new Image();
  image.onload = () => {
    photo = image;
    originalFrame.replaceChildren(image);
    say(`${file.name}: ${image.naturalWidth}x${image.naturalHeight}. Press Stylise.`);
    updateButton();
  };
  image.onerror = () => {
    URL.revokeObjectURL(url);
    say(`"${file.name}" is not an image this browser can read. Use a JPEG, PNG or WebP file.`, true);
  };
  image.src = url;
}

async function ensureModel(): Promise<BrowserStyleModel> {
  const files = modelFiles.files?.length ? Array.from(modelFiles.files) : undefined;
  // The first option (value "") is the package's default style: loadStyleModel() without a source.
  const source: StyleModelSource | undefined = files ?? (modelSelect.value || undefined);
  const backend = backendSelect.value as BackendPreference;
  const key = `${files ? files.map((f) => `${f.name}:${f.size}:${f.lastModified}`).join('|') : modelSelect.value}@${backend}`;
  if (model && key === loadedKey) return model;
  model?.dispose();
  model = undefined;
  say('Loading the style…');
  model = await loadStyleModel(source, { backend, wasmPaths: WASM_PATHS });
  loadedKey = key;
  return model;
}

async function stylize(): Promise<void> {
  if (!photo || busy) return;
  busy = true;
  updateButton();
  try {
    const styleModel = await ensureModel();
    const size = sizeSelect.value ? Number(sizeSelect.value) : undefined;
    say(`Stylising on ${styleModel.backend.backend}…`);
    const started = performance.now();
    const result = await styleModel.stylize(photo, { size });
    const elapsed = performance.now() - started;
    const canvas = document.createElement('canvas');
    [canvas.width, canvas.height] = [result.width, result.height];
    canvas.getContext('2d')!.putImageData(result, 0, 0);
    resultFrame.replaceChildren(canvas);
    canvas.toBlob((blob) => {
      if (!blob) return;
      if (downloadLink.href) URL.revokeObjectURL(downloadLink.href);
      downloadLink.href = URL.createObjectURL(blob);
      downloadLink.hidden = false;
    }, 'image/png');
    say(`"${styleModel.styleName}" at ${result.width}x${result.height} in ${elapsed.toFixed(0)} ms on ${styleModel.backend.backend} (${styleModel.backend.reason}).`);
  } catch (error) {
    say((error as Error).message, true);
  } finally {
    busy = false;
    updateButton();
  }
}

$<HTMLFormElement>('controls').addEventListener('submit', (event) => {
  event.preventDefault();
  void stylize();
});
imageFile.addEventListener('change', () => imageFile.files?.[0] && showPhoto(imageFile.files[0]));
modelSelect.addEventListener('change', updateButton);
modelFiles.addEventListener('change', updateButton);
acceptDroppedFile(originalFrame, showPhoto);

void listModels();
