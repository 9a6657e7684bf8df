/** The progress line of `nst train`: a bar on a terminal, a line every few seconds otherwise. */

export interface ProgressSnapshot {
  step: number;
  totalSteps: number;
  epoch: number;
  loss: number;
  content: number;
  style: number;
  tv: number;
  stepsPerSecond: number;
  imagesPerSecond: number;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`;
  return m > 0 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

export function formatLoss(value: number): string {
  return Number.isFinite(value) ? value.toPrecision(3) : String(value);
}

export function progressLine(p: ProgressSnapshot, barWidth = 24): string {
  const fraction = Math.min(1, p.step / p.totalSteps);
  const filled = Math.round(fraction * barWidth);
  const bar = '='.repeat(Math.max(0, filled - 1)) + (filled > 0 ? '>' : '') + ' '.repeat(barWidth - filled);
  const eta = p.stepsPerSecond > 0 ? (p.totalSteps - p.step) / p.stepsPerSecond : Infinity;
  return (
    `step ${p.step}/${p.totalSteps} [${bar}] ${(fraction * 100).toFixed(0)}% epoch ${p.epoch.toFixed(2)} ` +
    `loss ${formatLoss(p.loss)} (content ${formatLoss(p.content)}, style ${formatLoss(p.style)}, tv ${formatLoss(p.tv)}) ` +
    `${p.stepsPerSecond.toFixed(3)} steps/s ${p.imagesPerSecond.toFixed(2)} img/s ETA ${formatDuration(eta)}`
  );
}

export class ProgressReporter {
  private readonly _stream: NodeJS.WriteStream;
  private readonly _tty: boolean;
  private readonly _intervalMs: number;
  private _lastPrint = 0;
  private _pending = false;

  constructor(stream: NodeJS.WriteStream = process.stderr, intervalMs = 15000) {
    this._stream = stream;
    this._tty = Boolean(stream.isTTY);
    this._intervalMs = intervalMs;
  }

  update(snapshot: ProgressSnapshot, force = false): void {
    const now = Date.now();
    const line = progressLine(snapshot);
    if (this._tty) {
      const columns = this._stream.columns ?? 160;
      this._stream.write(`\r${line.slice(0, columns - 1).padEnd(Math.min(columns - 1, line.length))}\x1b[K`);
      this._pending = true;
    } else if (force || now - this._lastPrint >= this._intervalMs) {
      this._stream.write(line + '\n');
      this._lastPrint = now;
    }
  }

  /** Prints a message on its own line without breaking the bar. */
  message(text: string): void {
    if (this._pending) this._stream.write('\n');
    this._pending = false;
    this._stream.write(text + '\n');
  }
}
