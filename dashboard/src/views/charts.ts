// Small charts drawn as plain SVG and HTML (no chart library): a line chart with an optional
// cursor (the replay's "now"), horizontal bars, and a p5–p50–p95 range. Each has a text
// alternative (aria-label / visible figures), so the numbers are there without the picture.

import { h } from './dom.js';

const SVG = 'http://www.w3.org/2000/svg';

export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

export interface SeriesPoint {
  t: number;
  v: number;
}

export interface LineChartOptions {
  width?: number;
  height?: number;
  /** Time window shown; default the series' own span. */
  from?: number;
  to?: number;
  /** A vertical line at this time (the replay cursor). */
  cursor?: number | null;
  label: string;
  color?: string;
  /** Formats the y-axis maximum and the latest value. */
  format?: (v: number) => string;
  /** The y range; default from min(0, values) to max(1, values), which suits speeds, not dBm. */
  min?: number;
  max?: number;
}

/** Points → an SVG path in a box, y from 0 (or the minimum, when negative) to the maximum. */
export function linePath(
  points: readonly SeriesPoint[],
  box: { x0: number; x1: number; y0: number; y1: number; from: number; to: number; min: number; max: number },
): string {
  const { x0, x1, y0, y1, from, to, min, max } = box;
  const sx = (t: number) => x0 + ((t - from) / Math.max(1, to - from)) * (x1 - x0);
  const sy = (v: number) => y1 - ((v - min) / Math.max(1e-9, max - min)) * (y1 - y0);
  return points.map((p, i) => `${i === 0 ? 'M' : 'L'}${sx(p.t).toFixed(1)},${sy(p.v).toFixed(1)}`).join('');
}

export function lineChart(points: readonly SeriesPoint[], options: LineChartOptions): SVGSVGElement {
  const { width = 300, height = 72, label, color = '#1d4ed8', format = (v) => v.toFixed(0) } = options;
  const from = options.from ?? points[0]?.t ?? 0;
  const to = options.to ?? points[points.length - 1]?.t ?? 1;
  const values = points.map((p) => p.v);
  const max = options.max ?? Math.max(1, ...values);
  const min = options.min ?? Math.min(0, ...values);
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': label, class: 'chart' });
  const pad = { l: 30, r: 6, t: 6, b: 6 };
  const box = { x0: pad.l, x1: width - pad.r, y0: pad.t, y1: height - pad.b, from, to, min, max };
  root.append(
    svg('line', { x1: box.x0, x2: box.x1, y1: box.y1, y2: box.y1, class: 'chart__axis' }),
    svg('line', { x1: box.x0, x2: box.x1, y1: box.y0, y2: box.y0, class: 'chart__grid' }),
  );
  const maxLabel = svg('text', { x: box.x0 - 4, y: box.y0 + 8, 'text-anchor': 'end', class: 'chart__tick' });
  maxLabel.textContent = format(max);
  const minLabel = svg('text', { x: box.x0 - 4, y: box.y1, 'text-anchor': 'end', class: 'chart__tick' });
  minLabel.textContent = format(min);
  root.append(maxLabel, minLabel);
  const visible = points.filter((p) => p.t >= from && p.t <= to);
  if (visible.length > 1)
    root.append(svg('path', { d: linePath(visible, box), fill: 'none', stroke: color, 'stroke-width': 2, 'stroke-linejoin': 'round' }));
  if (options.cursor !== undefined && options.cursor !== null && options.cursor >= from && options.cursor <= to) {
    const x = box.x0 + ((options.cursor - from) / Math.max(1, to - from)) * (box.x1 - box.x0);
    root.append(svg('line', { x1: x, x2: x, y1: box.y0, y2: box.y1, class: 'chart__cursor', 'data-testid': 'chart-cursor' }));
  }
  return root;
}

/** Horizontal bars, labelled, each with its figure: readable without colour. */
export function barChart(items: readonly { label: string; value: number; text: string }[], label: string): HTMLElement {
  const max = Math.max(1, ...items.map((i) => i.value));
  return h(
    'ul',
    { class: 'bars', 'aria-label': label },
    ...items.map((item) => {
      const fill = h('span', { class: 'bars__fill' });
      fill.style.width = `${(item.value / max) * 100}%`;
      return h(
        'li',
        { class: 'bars__row' },
        h('span', { class: 'bars__label' }, item.label),
        h('span', { class: 'bars__track', 'aria-hidden': 'true' }, fill),
        h('span', { class: 'bars__value' }, item.text),
      );
    }),
  );
}

/** A p5–p95 band with the median marked, on a fixed scale (e.g. RSRP −140…−44 dBm). */
export function rangeChart(
  d: { p5?: number | null; p50?: number | null; p95?: number | null },
  scale: { min: number; max: number },
): HTMLElement {
  const pos = (v: number) => `${((Math.min(scale.max, Math.max(scale.min, v)) - scale.min) / (scale.max - scale.min)) * 100}%`;
  const track = h('span', { class: 'range__track', 'aria-hidden': 'true' });
  if (typeof d.p5 === 'number' && typeof d.p95 === 'number') {
    const band = h('span', { class: 'range__band' });
    band.style.left = pos(Math.min(d.p5, d.p95));
    band.style.right = `calc(100% - ${pos(Math.max(d.p5, d.p95))})`;
    track.append(band);
  }
  if (typeof d.p50 === 'number') {
    const mid = h('span', { class: 'range__median' });
    mid.style.left = pos(d.p50);
    track.append(mid);
  }
  return track;
}
