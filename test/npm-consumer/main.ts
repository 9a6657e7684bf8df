// The Vite app's entry: the package's element entry registers <nst-video>.
import 'nst-video';

const element = document.querySelector('nst-video')!;
element.addEventListener('nst-error', (event) => {
  console.error(`nst-error (${event.detail.phase}): ${event.detail.error.message}`);
});
// The test reads how the default style's download went.
const modelProgress: { loadedBytes: number; totalBytes: number }[] = [];
Object.assign(window, { modelProgress });
element.addEventListener('nst-model-progress', ({ detail }) => modelProgress.push({ loadedBytes: detail.loadedBytes, totalBytes: detail.totalBytes }));
