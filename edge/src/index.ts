/** @michi/edge: the gateway agent (local MQTT ingest, on-disk buffer, uplink to the cloud). */
export { startEdge, type EdgeDeps, type EdgeHandle, type EdgeStats } from './edge-agent.js';
export {
  EdgeConfigSchema,
  loadEdgeConfig,
  parseEdgeConfig,
  EDGE_ENV_PREFIX,
  EDGE_CONFIG_ENV,
  type EdgeConfig,
  type EdgeConfigInput,
  type EdgeSettings,
} from './config.js';
export {
  BufferStore,
  PRIORITY,
  type BufferHooks,
  type BufferStoreOptions,
  type BufferStats,
  type BufferedItem,
  type DropReason,
  type PeekFilter,
  type ReadingBuffer,
} from './buffer-store.js';
export type { EdgeDevice } from './local-broker.js';
export type { UplinkState, UplinkStats, UplinkStream } from './uplink-transport.js';
export { BufferClosedError, BufferFullError, ReadingRejectedError, REJECT_REASONS, type RejectReason } from './errors.js';
