/** The HTTP API's contract (routes, parameters, responses, live-feed messages); zod only, so the dashboard can import its types. */
export * from './common.js';
export * from './query-params.js';
export * from './pilots.js';
export * from './history.js';
export * from './live.js';
export * from './routes.js';
export * from './alarms.js';
export * from './reports.js';
export * from './records.js';
export * from './bundles.js';
