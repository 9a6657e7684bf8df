/**
 * demo/transcode.html: stylise a whole video file with transcodeVideo(), watching each frame as
 * it is made, then download it (every frame and the sound kept).
 */
import { NstTranscodeCanceledError, NstTranscodeError, transcodeVideo, type BackendPreference, type TranscodeFormat } from 'nst-video';
import type { ColorMatchMode } from 'nst-video-shaders';
import { addModelOptions, fetchDemoModels } from './shared/demo-models.js';
import { acceptDroppedFile } from './shared/drop-zone.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const modelSelect = $<HTMLSelectElement>('model-select');
const modelFiles = $<HTMLInputElement>('model-files');
const videoFile = $<HTMLInputElement>('video-file');
const startButton = $<HTMLButtonElement>('start-button');
const cancelButton = $<HTMLButtonElement>('cancel-button');
const statusLine = $<HTMLParagraphElement>('status');
const progressBar = $<HTMLProgressElement>('progress');
const originalFrame = $<HTMLDivElement>('original-frame');
const resultFrame = $<HTMLDivElement>('result-frame');
const downloadLink = $<HTMLAnchorElement>('download-link');

let video: File | undefined;
let running: AbortController | undefined;

function say(message: string, isError = false): void {
  statusLine.textContent = message;
  statusLine.classList.toggle('error', isError);
}

function updateButtons(): void {
  startButton.disabled = Boolean(running) || !video;
  cancelButton.disabled = !running;
}

async function listModels(): Promise<void> {
  try {
    const models = await fetchDemoModels();
    addModelOptions(modelSelect, models);
    say('Choose a video, then Stylise.');
  } catch (error) {
    say((error as Error).message, true);
  }
  updateButtons();
}

function showVideo(file: File): void {
  video = file;
  const player = document.createElement('video');
  player.src = URL.createObjectURL(file);
  player.controls = true;
  player.muted = true;
  originalFrame.replaceChildren(player);
  say(`${file.name} (${(file.size / 1e6).toFixed(1)} MB). Press Stylise.`);
  updateButtons();
}

async function start(): Promise<void> {
  if (!video || running) return;
  const abort = new AbortController();
  running = abort;
  updateButtons();
  downloadLink.hidden = true;
  progressBar.hidden = false;
  progressBar.value = 0;
  const preview = document.createElement('canvas');
  resultFrame.replaceChildren(preview);
  const number = (id: string) => Number($<HTMLInputElement>(id).value);
  const format = $<HTMLSelectElement>('format-select').value as TranscodeFormat | '';
  say('Loading the style…');
  try {
    const blob = await transcodeVideo(video, {
      // The first option (value "") is the package's default style: no model.
      model: modelFiles.files?.length ? Array.from(modelFiles.files) : modelSelect.value || undefined,
      backend: $<HTMLSelectElement>('backend-select').value as BackendPreference,
      wasmPaths: '/wasm/',
      inferenceSize: Number($<HTMLSelectElement>('size-select').value),
      strength: number('strength'),
      smoothing: number('smoothing'),
      colorMatch: number('color-match'),
      colorMatchMode: $<HTMLSelectElement>('color-match-mode').value as ColorMatchMode,
      ...(format && { format }),
      signal: abort.signal,
      onFrame: (canvas) => {
        if (preview.width !== canvas.width || preview.height !== canvas.height) [preview.width, preview.height] = [canvas.width, canvas.height];
        preview.getContext('2d')!.drawImage(canvas, 0, 0);
      },
      onProgress: ({ frames, totalFrames, fps, etaSeconds }) => {
        progressBar.value = frames / totalFrames;
        say(`Frame ${frames} of ${totalFrames} · ${fps.toFixed(1)} fps · ${Number.isFinite(etaSeconds) ? `about ${Math.ceil(etaSeconds)} s left` : 'estimating…'}`);
      },
    });
    const extension = blob.type.includes('webm') ? 'webm' : 'mp4';
    if (downloadLink.href) URL.revokeObjectURL(downloadLink.href);
    downloadLink.href = URL.createObjectURL(blob);
    downloadLink.download = `${video.name.replace(/\.[^.]+$/, '')}-stylised.${extension}`;
    downloadLink.hidden = false;
    const player = document.createElement('video');
    player.src = downloadLink.href;
    player.controls = true;
    resultFrame.replaceChildren(player);
    say(`Done: ${(blob.size / 1e6).toFixed(1)} MB ${extension.toUpperCase()}. Play it here or download it.`);
  } catch (error) {
    if (error instanceof NstTranscodeCanceledError) say('Cancelled; nothing was written.');
    else say(error instanceof NstTranscodeError ? `${error.message} (${error.code})` : (error as Error).message, true);
  } finally {
    running = undefined;
    progressBar.hidden = true;
    updateButtons();
  }
}

$<HTMLFormElement>('controls').addEventListener('submit', (event) => {
  event.preventDefault();
  void start();
});
cancelButton.addEventListener('click', () => running?.abort());
videoFile.addEventListener('change', () => videoFile.files?.[0] && showVideo(videoFile.files[0]));
modelSelect.addEventListener('change', updateButtons);
modelFiles.addEventListener('change', updateButtons);
acceptDroppedFile(originalFrame, (file) => {
  if (!running) showVideo(file);
});

void listModels();
