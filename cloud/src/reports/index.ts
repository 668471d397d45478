/** The report a municipality files: its data day by day (report-builder.ts), its CSV (report-csv.ts), its range (local-days.ts). */
export { buildReport, type ReportReader, type ReportRequest } from './report-builder.js';
export { reportCsv, reportFileName } from './report-csv.js';
export { reportRange } from './local-days.js';
