/**
 * The page `nst transcode` opens in headless Chromium: it runs the plugin's own transcodeVideo()
 * on the input the command serves at /input and uploads the result to /output. Bundled by
 * esbuild when the command starts.
 */
import { NstTranscodeCanceledError, NstTranscodeError, transcodeVideo, type TranscodeFormat, type TranscodeProgress } from 'nst-video';
import type { BackendPreference } from 'nst-video';
import type { ColorMatchMode } from 'nst-video-shaders';

/** What the command asks for. */
export interface TranscodePageRequest {
  inferenceSize: number;
  strength: number;
  smoothing: number;
  colorMatch: number;
  colorMatchMode: ColorMatchMode;
  format: TranscodeFormat;
  backend: BackendPreference;
}

/** How it ended: the written size, or the error's name, code and message. */
export type TranscodePageResult =
  | { ok: true; bytes: number; type: string; seconds: number }
  | { ok: false; canceled: boolean; name: string; code?: string; message: string };

declare global {
  interface Window {
    /** Runs one transcode; resolves (never rejects) with how it ended. */
    nstTranscode(request: TranscodePageRequest): Promise<TranscodePageResult>;
    /** Cancels the transcode in progress (Ctrl-C). */
    nstCancel(): void;
    /** Exposed by the command: progress after each frame. */
    nstProgress(progress: TranscodeProgress): void;
  }
}

const abort = new AbortController();
window.nstCancel = () => abort.abort();
window.nstTranscode = async (request) => {
  const started = performance.now();
  try {
    const blob = await transcodeVideo('/input', {
      model: '/model/model.json',
      wasmPaths: '/wasm/',
      ...request,
      onProgress: (progress) => window.nstProgress({ ...progress }),
      signal: abort.signal,
    });
    const response = await fetch('/output', { method: 'PUT', body: blob });
    if (!response.ok) throw new Error(`the result could not be handed to nst (HTTP ${response.status}: ${await response.text()})`);
    return { ok: true, bytes: blob.size, type: blob.type, seconds: (performance.now() - started) / 1000 };
  } catch (error) {
    const e = error as Error;
    return { ok: false, canceled: e instanceof NstTranscodeCanceledError, name: e.name, code: e instanceof NstTranscodeError ? e.code : undefined, message: e.message };
  }
};
