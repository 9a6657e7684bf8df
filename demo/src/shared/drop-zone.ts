/** Makes `zone` take a dropped file (highlighted with the `drag` class while one is over it). */
export function acceptDroppedFile(zone: HTMLElement, onFile: (file: File) => void): void {
  for (const type of ['dragenter', 'dragover'] as const) {
    zone.addEventListener(type, (event) => {
      event.preventDefault();
      zone.classList.add('drag');
    });
  }
  zone.addEventListener('dragleave', () => zone.classList.remove('drag'));
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    zone.classList.remove('drag');
    const file = event.dataTransfer?.files[0];
    if (file) onFile(file);
  });
}
