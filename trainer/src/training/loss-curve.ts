/** The loss curve as a small hand-written SVG: log-scale losses against steps. */

export interface LossPoint {
  step: number;
  total: number;
  content: number;
  style: number;
  tv: number;
}

const SERIES: { key: keyof Omit<LossPoint, 'step'>; colour: string; label: string }[] = [
  { key: 'total', colour: '#111111', label: 'total' },
  { key: 'content', colour: '#1f77b4', label: 'content (weighted)' },
  { key: 'style', colour: '#d62728', label: 'style (weighted)' },
  { key: 'tv', colour: '#2ca02c', label: 'total variation (weighted)' },
];

/** Averages `points` over windows of `window` steps (raw per-step losses are very noisy). */
export function smoothLosses(points: readonly LossPoint[], window: number): LossPoint[] {
  const out: LossPoint[] = [];
  for (let i = 0; i < points.length; i += window) {
    const chunk = points.slice(i, i + window);
    const mean = (key: keyof LossPoint) => chunk.reduce((s, p) => s + p[key], 0) / chunk.length;
    out.push({ step: chunk[chunk.length - 1].step, total: mean('total'), content: mean('content'), style: mean('style'), tv: mean('tv') });
  }
  return out;
}

export function lossCurveSvg(points: readonly LossPoint[], title: string): string {
  const width = 720;
  const height = 400;
  const margin = { left: 70, right: 20, top: 36, bottom: 44 };
  // About 50 points: per-step losses of small batches are too noisy to show a trend.
  const window = Math.max(1, Math.round(points.length / 50));
  const smoothed = smoothLosses(points, window);
  const values = smoothed.flatMap((p) => SERIES.map((s) => p[s.key])).filter((v) => v > 0 && Number.isFinite(v));
  const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">${escape(title)} (mean of every ${window} steps)</text>`,
  ];
  if (smoothed.length === 0 || values.length === 0) {
    parts.push(`<text x="${width / 2}" y="${height / 2}" text-anchor="middle">no steps yet</text></svg>`);
    return parts.join('\n');
  }
  const lo = Math.floor(Math.log10(Math.min(...values)));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...values))));
  const maxStep = Math.max(1, smoothed[smoothed.length - 1].step);
  const minStep = Math.min(smoothed[0].step, maxStep - 1);
  const px = (step: number) => margin.left + ((step - minStep) / (maxStep - minStep)) * (width - margin.left - margin.right);
  const py = (v: number) => margin.top + ((hi - Math.log10(v)) / (hi - lo)) * (height - margin.top - margin.bottom);
  for (let e = lo; e <= hi; e++) {
    parts.push(`<line x1="${margin.left}" x2="${width - margin.right}" y1="${py(10 ** e)}" y2="${py(10 ** e)}" stroke="#ddd"/>`);
    parts.push(`<text x="${margin.left - 6}" y="${py(10 ** e) + 4}" text-anchor="end">1e${e}</text>`);
  }
  for (let i = 0; i <= 5; i++) {
    const step = Math.round(minStep + ((maxStep - minStep) * i) / 5);
    parts.push(`<text x="${px(step)}" y="${height - margin.bottom + 16}" text-anchor="middle">${step}</text>`);
  }
  parts.push(`<text x="${width / 2}" y="${height - 8}" text-anchor="middle">step</text>`);
  SERIES.forEach((series, index) => {
    const path = smoothed
      .filter((p) => p[series.key] > 0 && Number.isFinite(p[series.key]))
      .map((p, i) => `${i === 0 ? 'M' : 'L'}${px(p.step).toFixed(1)},${py(p[series.key]).toFixed(1)}`)
      .join(' ');
    if (path) parts.push(`<path d="${path}" fill="none" stroke="${series.colour}" stroke-width="1.5"/>`);
    parts.push(`<text x="${width - margin.right - 170}" y="${margin.top + 14 + index * 15}" fill="${series.colour}">${series.label}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
