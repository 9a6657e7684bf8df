// The Vite app's entry: the package's element entry registers <nst-video>.
import 'nst-video';

document.querySelector('nst-video')!.addEventListener('nst-error', (event) => {
  console.error(`nst-error (${event.detail.phase}): ${event.detail.error.message}`);
});
