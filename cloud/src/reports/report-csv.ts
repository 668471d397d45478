/**
 * A report as a CSV file a spreadsheet opens as it is (RFC 4180: CRLF line ends, fields with a
 * comma, quote or line break quoted, quotes doubled): UTF-8 with a byte order mark, since Excel in
 * Japan reads a CSV without one as Shift_JIS and garbles every heading. A header block names the
 * pilot, the municipality, the range and when it was made; then a heading row, one row per local
 * day, the totals row, and the takeovers and disengagements by cause.
 */
import { REPORT_COLUMNS, type Report, type ReportCause, type ReportColumn, type ReportFigures } from '@michi/proto';
import { wallClock } from '@michi/proto/time-zone';
import { isoDate } from './local-days.js';
import { SHEET_LABELS } from './report-labels.js';

export const BOM = '\uFEFF';

const DECIMAL = /^-?\d+(\.\d+)?$/;

/** One field, quoted when it must be; text a spreadsheet would run as a formula is defused with a leading '. */
export function csvField(value: string | number | null): string {
  if (value === null) return '';
  let s = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(s) && !DECIMAL.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const row = (fields: readonly (string | number | null)[]): string => fields.map(csvField).join(',');

const fixed = (v: number | null, digits: number): string | null => (v === null ? null : v.toFixed(digits));
const percent = (v: number | null): string | null => (v === null ? null : (v * 100).toFixed(1));

/** How each column is written: shares as percentages, km to the metre, link figures to 0.1. */
function cell(f: ReportFigures, key: Exclude<ReportColumn, 'date'>): string | number | null {
  switch (key) {
    case 'distance_km':
    case 'autonomous_distance_km':
      return fixed(f[key], 3);
    case 'autonomous_share':
    case 'availability':
      return percent(f[key]);
    case 'takeovers_per_100km':
      return fixed(f[key], 2);
    case 'rsrp_dbm_p50':
    case 'rsrp_dbm_p5':
    case 'sinr_db_p50':
    case 'sinr_db_p5':
    case 'rtt_ms_p50':
      return fixed(f[key], 1);
    default:
      return f[key];
  }
}

const FIGURE_COLUMNS = REPORT_COLUMNS.filter((c): c is Exclude<ReportColumn, 'date'> => c !== 'date');

/** `t` as YYYY-MM-DD HH:mm in `timeZone`. */
export function localTime(t: number, timeZone: string): string {
  const w = wallClock(t, timeZone);
  return `${isoDate(w)} ${String(w.hour).padStart(2, '0')}:${String(w.minute).padStart(2, '0')}`;
}

export function reportCsv(report: Report): string {
  const l = SHEET_LABELS[report.lang];
  const tz = report.pilot.timezone;
  const causeBlock = (title: string, causes: readonly ReportCause[]): string[] => [
    row([title]),
    row([l.cause, l.count, l.per100km]),
    ...causes.map((c) => row([c.label, c.count, fixed(c.per_100km, 2)])),
  ];
  const lines = [
    row([l.title]),
    row([l.pilot, `${report.pilot.name} (${report.pilot.id})`]),
    row([l.municipality, `${report.pilot.municipality} (${report.pilot.municipality_code})`]),
    row([l.range, `${localTime(report.from, tz)} – ${localTime(report.to, tz)}`]),
    row([l.timezone, tz]),
    row([l.generatedAt, localTime(report.generated_at, tz)]),
    '',
    row(report.columns.map((c) => c.label)),
    ...report.days.map((d) => row([d.date, ...FIGURE_COLUMNS.map((k) => cell(d, k))])),
    row([l.totals, ...FIGURE_COLUMNS.map((k) => cell(report.totals, k))]),
    ...(report.totals_exact ? [] : [row([l.totalsFromDays])]),
    '',
    ...causeBlock(l.takeoversByCause, report.takeovers_by_cause),
    '',
    ...causeBlock(l.disengagementsByCause, report.disengagements_by_cause),
  ];
  return `${BOM}${lines.join('\r\n')}\r\n`;
}

/** The attachment's file name: ASCII only, so every browser keeps it. */
export function reportFileName(report: Report): string {
  const first = report.days[0]?.date ?? '';
  const last = report.days[report.days.length - 1]?.date ?? '';
  return `michi-report-${report.pilot.id}-${first}-${last}-${report.lang}.csv`;
}
