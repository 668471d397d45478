/** Incident bundles (docs/incident-bundles.md): the builder, the records it plugs in, the command. */
export {
  buildIncidentBundle,
  bundleWindowProblem,
  BUNDLE_FORMAT,
  MAX_BUNDLE_WINDOW_MS,
  type BundleDeps,
  type BundleManifest,
  type BundleWindow,
  type IncidentBundle,
} from './incident-bundle.js';
export type { RecordsExcerpt, RecordsProvider, RecordEntryWithHash } from './records-provider.js';
