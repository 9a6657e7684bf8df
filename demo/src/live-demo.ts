/**
 * demo/index.html: the camera (or a video file) stylised live by <nst-video>, with a style picker,
 * the picture's sliders, an fps / ms overlay, snapshots and clip recording with sound.
 */
import { NstClipRecorder, type NstVideoElement, type NstVideoStats } from 'nst-video';
import { addModelOptions, fetchDemoModels, type DemoModel } from './shared/demo-models.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const live = $<NstVideoElement>('live');
const placeholder = $<HTMLDivElement>('placeholder');
const overlay = $<HTMLOutputElement>('overlay');
const message = $<HTMLParagraphElement>('message');
const modelSelect = $<HTMLSelectElement>('model-select');
const sourceSelect = $<HTMLSelectElement>('source-select');
const videoFile = $<HTMLInputElement>('video-file');
const facingSelect = $<HTMLSelectElement>('facing-select');
const backendSelect = $<HTMLSelectElement>('backend-select');
const mirrored = $<HTMLInputElement>('mirrored');
const playButton = $<HTMLButtonElement>('play-button');
const snapshotButton = $<HTMLButtonElement>('snapshot-button');
const recordButton = $<HTMLButtonElement>('record-button');
const recordSound = $<HTMLInputElement>('record-sound');
const downloads = $<HTMLUListElement>('downloads');

const SLIDERS = { strength: 'strength', smoothing: 'smoothing', 'color-match': 'colorMatch', 'inference-size': 'inferenceSize' } as const;

let recorder: { clip: NstClipRecorder; stream: MediaStream; extraTracks: MediaStreamTrack[] } | null = null;
let fileUrl: string | null = null;
/** A warning about speed stays up until an error replaces it. */
let warning = '';

function say(text: string, kind: 'info' | 'warning' | 'error' = 'info'): void {
  message.textContent = text;
  message.className = kind === 'info' ? '' : kind;
}

async function listModels(): Promise<void> {
  let models: DemoModel[];
  try {
    models = await fetchDemoModels();
  } catch (error) {
    say((error as Error).message, 'error');
    return;
  }
  // The element starts with the package's default style (no model attribute), the first option.
  addModelOptions(modelSelect, models);
}

function wireSliders(): void {
  for (const [id, property] of Object.entries(SLIDERS)) {
    const input = $<HTMLInputElement>(id);
    const output = input.parentElement!.querySelector('output')!;
    const apply = () => {
      output.textContent = id === 'inference-size' ? `${input.value} px` : Number(input.value).toFixed(2);
      (live as unknown as Record<string, number>)[property] = Number(input.value);
    };
    input.addEventListener('input', apply);
    apply();
  }
}

function useCamera(): void {
  live.src = null;
  live.muted = true;
  live.camera = true;
  facingSelect.disabled = false;
  if (fileUrl) URL.revokeObjectURL(fileUrl);
  fileUrl = null;
}

function useFile(file: File): void {
  if (fileUrl) URL.revokeObjectURL(fileUrl);
  fileUrl = URL.createObjectURL(file);
  live.camera = false;
  live.muted = false;
  live.loop = true;
  live.src = fileUrl;
  facingSelect.disabled = true;
  mirrored.checked = false;
  live.mirrored = false;
  void live.play().catch(() => {});
}

function describeStats(stats: NstVideoStats): string {
  return `${stats.fps.toFixed(1)} fps · ${stats.inferenceMs.toFixed(0)} ms · ${stats.backend ?? '-'} → ${stats.presentation ?? '-'} · ${stats.width}x${stats.height} (net ${stats.inferenceWidth}x${stats.inferenceHeight})`;
}

function addDownload(blob: Blob, name: string, what: string): void {
  const url = URL.createObjectURL(blob);
  const item = document.createElement('li');
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.textContent = name;
  item.append(link, ` — ${what}, ${(blob.size / 1024).toFixed(0)} KiB`);
  downloads.prepend(item);
  link.click();
}

async function toggleRecording(): Promise<void> {
  if (recorder) {
    const { clip, stream, extraTracks } = recorder;
    recorder = null;
    recordButton.textContent = 'Record a clip';
    recordButton.classList.remove('recording');
    try {
      const blob = await clip.stop();
      addDownload(blob, `nst-clip-${Date.now()}.${blob.type.includes('webm') ? 'webm' : 'mp4'}`, clip.codecs);
    } catch (error) {
      say((error as Error).message, 'error');
    } finally {
      for (const track of [...stream.getTracks(), ...extraTracks]) track.stop();
    }
    return;
  }
  recordButton.disabled = true;
  const stream = live.captureStream(30);
  const extraTracks: MediaStreamTrack[] = [];
  // The camera is opened without sound; the microphone gives the clip its sound.
  if (recordSound.checked && live.camera && !stream.getAudioTracks().length) {
    try {
      const mic = await navigator.mediaDevices.getUserMedia({ audio: true });
      for (const track of mic.getAudioTracks()) {
        stream.addTrack(track);
        extraTracks.push(track);
      }
    } catch (error) {
      say(`Recording without sound: the microphone is not available (${(error as Error).name}).`, 'warning');
    }
  }
  if (!recordSound.checked) for (const track of stream.getAudioTracks()) stream.removeTrack(track);
  try {
    const clip = await NstClipRecorder.start(stream, { format: 'mp4' });
    recorder = { clip, stream, extraTracks };
    recordButton.textContent = `Stop (${clip.codecs})`;
    recordButton.classList.add('recording');
  } catch (error) {
    for (const track of [...stream.getTracks(), ...extraTracks]) track.stop();
    say((error as Error).message, 'error');
  } finally {
    recordButton.disabled = false;
  }
}

live.addEventListener('nst-model-load', ({ detail }) => {
  if (!live.model) modelSelect.options[0].textContent = `${detail.styleName} (the package's default)`;
  const software = detail.backend === 'wasm' || detail.backend === 'cpu';
  warning = software
    ? `No usable GPU for the network here (${detail.backendReason}): it runs on the CPU (${detail.backend}), a few frames per second. Lower the inference size for more.`
    : '';
  say(warning || `Style "${detail.styleName}" on ${detail.backend}.`, warning ? 'warning' : 'info');
});
live.addEventListener('nst-ready', () => {
  snapshotButton.disabled = false;
  recordButton.disabled = false;
  overlay.hidden = false;
  if (!warning) say('Running.');
});
live.addEventListener('nst-stats', ({ detail }) => {
  overlay.textContent = describeStats(detail);
});
live.addEventListener('nst-error', ({ detail }) => {
  const advice: Record<string, string> = {
    camera: ' You can stylise a video file instead (Input → A video file…).',
    gpu: ' This browser has no usable GPU for drawing the picture (WebGPU or WebGL2). Enable hardware acceleration, or try another browser.',
    'device-lost': '',
    model: ' Pick another style.',
    media: '',
  };
  placeholder.textContent = detail.phase === 'camera' ? 'No camera' : 'Something went wrong';
  say(`${detail.error.message}${advice[detail.phase] ?? ''}`, 'error');
});

modelSelect.addEventListener('change', () => (live.model = modelSelect.value || null));
sourceSelect.addEventListener('change', () => {
  if (sourceSelect.value === 'camera') useCamera();
  else videoFile.click();
});
videoFile.addEventListener('change', () => {
  const file = videoFile.files?.[0];
  if (file) useFile(file);
  else sourceSelect.value = live.camera ? 'camera' : 'file';
});
facingSelect.addEventListener('change', () => (live.facingMode = facingSelect.value));
backendSelect.addEventListener('change', () => (live.backend = backendSelect.value as NstVideoElement['backend']));
mirrored.addEventListener('change', () => (live.mirrored = mirrored.checked));
playButton.addEventListener('click', () => {
  if (live.paused) void live.play().catch(() => {});
  else live.pause();
  playButton.textContent = live.paused ? 'Play' : 'Pause';
});
snapshotButton.addEventListener('click', async () => {
  try {
    addDownload(await live.snapshot('image/png'), `nst-snapshot-${Date.now()}.png`, 'PNG');
  } catch (error) {
    say((error as Error).message, 'error');
  }
});
recordButton.addEventListener('click', () => void toggleRecording());

if (!navigator.mediaDevices?.getUserMedia) {
  say('This page cannot use a camera here (it needs https or localhost). Choose a video file instead.', 'error');
}
wireSliders();
void listModels();
