/** @michi/cloud: the cloud service (MQTT ingest → InfluxDB → HTTP API) and the parts others reuse. */
export { startCloud, type CloudDeps, type CloudService } from './cloud-service.js';
export {
  loadCloudConfig,
  CloudConfigSchema,
  CLOUD_ENV_PREFIX,
  type CloudConfig,
  type CloudSettings,
  type SecretResolver,
} from './config.js';
export { readingToLine, type LineContext } from './line-protocol.js';
export { MEASUREMENTS } from '@michi/proto';
export { InfluxWriter, type InfluxWriterOptions } from './influx-writer.js';
export { InfluxHttp, type InfluxEndpoint } from './influx-http.js';
export { StorageError, type StorageFailure } from './errors.js';
export { CloudMetrics } from './metrics.js';
export {
  cloudIngestClient,
  gatewayMetadata,
  uploadRequest,
  uploadClientDefinition,
  UPLOAD_PATH,
  GATEWAY_METADATA_KEY,
  ERROR_CODE_METADATA_KEY,
  type CloudIngestClient,
  type UploadAck,
  type UploadStream,
} from './ingest-grpc-client.js';
export { startBrokerConsumer, sharedBatchFilter, type BrokerConsumer, type BrokerConsumerOptions } from './worker.js';
export { startIngestWorker, type IngestWorkerService, type IngestWorkerDeps } from './worker-service.js';
export { mosquittoAuthFiles, mosquittoNoDropSettings, mosquittoPasswordLine } from './worker-broker-auth.js';
