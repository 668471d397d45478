/** Incident bundles (docs/incident-bundles.md): the builder and the records provider it plugs in. */
export { buildIncidentBundle, bundleWindowProblem } from './incident-bundle.js';
export { recordStoreExcerpts } from './record-excerpt.js';
export type { RecordsExcerpt, RecordsProvider, RecordEntryWithHash } from './records-provider.js';
