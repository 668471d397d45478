// The printable report is a page of the dashboard: `#report&pilot=<id>&from=<ms>&to=<ms>&lang=ja|en`
// in the fragment (so the cloud serves the same index.html, and a `#token=` beside it is taken out
// like anywhere else). The months of the KPI tab's picker are calendar months of the pilot's zone.

import type { Lang } from '../i18n.js';
import { fromWallInput, toWallInput } from '../time-zone.js';

export interface ReportLink {
  pilot: string;
  from: number;
  to: number;
  lang: Lang;
}

/** The report a fragment asks for; null for a fragment that is not a report's, `'invalid'` for one without a pilot and range. */
export function parseReportLink(hash: string): ReportLink | 'invalid' | null {
  const p = new URLSearchParams(hash.replace(/^#/, ''));
  if (!p.has('report')) return null;
  const pilot = p.get('pilot');
  const from = Number(p.get('from'));
  const to = Number(p.get('to'));
  if (!pilot || !p.get('from') || !p.get('to') || !Number.isInteger(from) || !Number.isInteger(to) || from > to) return 'invalid';
  return { pilot, from, to, lang: p.get('lang') === 'en' ? 'en' : 'ja' };
}

export function reportHash({ pilot, from, to, lang }: ReportLink): string {
  return `#report&${new URLSearchParams({ pilot, from: String(from), to: String(to), lang }).toString()}`;
}

/** "YYYY-MM" of the month before the one `now` is in, in `timeZone`. */
export function lastMonth(now: number, timeZone: string): string {
  const [y, m] = toWallInput(now, timeZone).slice(0, 7).split('-').map(Number) as [number, number];
  return m === 1 ? `${y - 1}-12` : `${y}-${String(m - 1).padStart(2, '0')}`;
}

/** A "YYYY-MM" month of `timeZone` as [its first 00:00, the next month's − 1 ms]; null for no month. */
export function monthRange(month: string, timeZone: string): { from: number; to: number } | null {
  const m = /^(\d{4})-(\d{2})$/.exec(month);
  if (!m || +m[2]! < 1 || +m[2]! > 12) return null;
  const [y, mo] = [+m[1]!, +m[2]!];
  const next = mo === 12 ? `${y + 1}-01` : `${y}-${String(mo + 1).padStart(2, '0')}`;
  const from = fromWallInput(`${month}-01T00:00`, timeZone);
  const end = fromWallInput(`${next}-01T00:00`, timeZone);
  return from === null || end === null ? null : { from, to: end - 1 };
}
