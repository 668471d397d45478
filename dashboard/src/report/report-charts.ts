// The printable report's two charts, plain SVG sized in user units so they scale to the printed
// page: distance per day as bars with the autonomous part darker and the autonomous share above
// each bar, and the 5G link's median and 5th-percentile RSRP per day as lines. Days without a
// figure leave a gap; each chart has a text alternative.

import type { ReportDay } from '../api-types.js';
import type { Formatters } from '../format.js';
import { svg } from '../views/charts.js';

const W = 760;
const PAD = { l: 66, r: 10, t: 18, b: 24 };

function frame(height: number, label: string, testid: string): SVGSVGElement {
  return svg('svg', { viewBox: `0 0 ${W} ${height}`, role: 'img', 'aria-label': label, class: 'report-chart', 'data-testid': testid });
}

function text(x: number, y: number, content: string, cls: string, anchor = 'middle'): SVGTextElement {
  const el = svg('text', { x, y, 'text-anchor': anchor, class: cls });
  el.textContent = content;
  return el;
}

/** Every day's number under its slot; every other one past 16 days, so the labels do not touch. */
function dayLabels(root: SVGSVGElement, days: readonly ReportDay[], x: (i: number) => number, y: number): void {
  const every = days.length > 16 ? 2 : 1;
  days.forEach((d, i) => {
    if (i % every === 0) root.append(text(x(i), y, String(Number(d.date.slice(8))), 'report-chart__tick'));
  });
}

export function distanceChart(days: readonly ReportDay[], f: Formatters, label: string): SVGSVGElement {
  const height = 220;
  const root = frame(height, label, 'report-distance-chart');
  const max = Math.max(1, ...days.map((d) => d.distance_km));
  const slot = (W - PAD.l - PAD.r) / Math.max(1, days.length);
  const x = (i: number) => PAD.l + slot * (i + 0.5);
  const y = (km: number) => height - PAD.b - (km / max) * (height - PAD.t - PAD.b);
  root.append(
    svg('line', { x1: PAD.l, x2: W - PAD.r, y1: y(0), y2: y(0), class: 'report-chart__axis' }),
    svg('line', { x1: PAD.l, x2: W - PAD.r, y1: y(max), y2: y(max), class: 'report-chart__grid' }),
    text(PAD.l - 6, y(max) + 4, `${f.decimal(max, 1)} km`, 'report-chart__tick', 'end'),
    text(PAD.l - 6, y(0), '0', 'report-chart__tick', 'end'),
  );
  const barWidth = Math.max(2, Math.min(28, slot * 0.7));
  days.forEach((d, i) => {
    if (d.distance_km <= 0) return;
    const x0 = x(i) - barWidth / 2;
    root.append(
      svg('rect', { x: x0, y: y(d.distance_km), width: barWidth, height: y(0) - y(d.distance_km), class: 'report-chart__bar' }),
      svg('rect', {
        x: x0,
        y: y(d.autonomous_distance_km),
        width: barWidth,
        height: y(0) - y(d.autonomous_distance_km),
        class: 'report-chart__bar report-chart__bar--autonomous',
      }),
    );
    // The share above the bar; every other day past 16 days, so the figures do not touch.
    if (d.autonomous_share !== null && (days.length <= 16 || i % 2 === 0)) {
      root.append(text(x(i), y(d.distance_km) - 4, `${Math.round(d.autonomous_share * 100)}%`, 'report-chart__value'));
    }
  });
  dayLabels(root, days, x, height - 8);
  return root;
}

export function linkChart(days: readonly ReportDay[], f: Formatters, label: string, names: { p50: string; p5: string }): SVGSVGElement {
  const height = 170;
  const root = frame(height, label, 'report-link-chart');
  const values = days.flatMap((d) => [d.rsrp_dbm_p50, d.rsrp_dbm_p5]).filter((v): v is number => v !== null);
  // A range of at least 10 dB around the figures, so that a steady link reads as steady.
  const lo = Math.floor((values.length ? Math.min(...values) : -110) / 5) * 5 - 5;
  const hi = Math.max(lo + 10, Math.ceil((values.length ? Math.max(...values) : -80) / 5) * 5 + 5);
  const slot = (W - PAD.l - PAD.r) / Math.max(1, days.length);
  const x = (i: number) => PAD.l + slot * (i + 0.5);
  const y = (v: number) => height - PAD.b - ((v - lo) / (hi - lo)) * (height - PAD.t - PAD.b);
  root.append(
    svg('line', { x1: PAD.l, x2: W - PAD.r, y1: y(lo), y2: y(lo), class: 'report-chart__axis' }),
    svg('line', { x1: PAD.l, x2: W - PAD.r, y1: y(hi), y2: y(hi), class: 'report-chart__grid' }),
    text(PAD.l - 6, y(hi) + 4, f.withUnit(hi, 'dBm'), 'report-chart__tick', 'end'),
    text(PAD.l - 6, y(lo), f.withUnit(lo, 'dBm'), 'report-chart__tick', 'end'),
  );
  const line = (pick: (d: ReportDay) => number | null, variant: string) => {
    let d = '';
    let pen = false;
    days.forEach((day, i) => {
      const v = pick(day);
      if (v === null) {
        pen = false;
        return;
      }
      d += `${pen ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
      pen = true;
      root.append(svg('circle', { cx: x(i), cy: y(v), r: 2.5, class: `report-chart__dot report-chart__dot${variant}` }));
    });
    if (d) root.append(svg('path', { d, class: `report-chart__line report-chart__line${variant}` }));
  };
  line((d) => d.rsrp_dbm_p5, '--p5');
  line((d) => d.rsrp_dbm_p50, '');
  // The key, top left inside the plot: a short sample of each line and its name.
  const key = (row: number, variant: string, name: string) => {
    const ky = PAD.t + 4 + row * 14;
    root.append(
      svg('line', { x1: PAD.l + 8, x2: PAD.l + 30, y1: ky, y2: ky, class: `report-chart__line report-chart__line${variant}` }),
      text(PAD.l + 36, ky + 4, name, 'report-chart__key', 'start'),
    );
  };
  key(0, '', names.p50);
  key(1, '--p5', names.p5);
  dayLabels(root, days, x, height - 8);
  return root;
}
