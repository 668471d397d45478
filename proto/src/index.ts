/** @michi/proto: the contracts every michi package shares. Nothing else is shared. */
export * from './errors.js';
export * from './topics.js';
export * from './codec.js';
export { validateBody, MAX_BATCH_ITEMS, MAX_DETAIL_LENGTH, MAX_MAP_ENTRIES, MIN_TS_MS, MAX_TS_MS } from './validate-reading.js';
export { michi } from './michi-pb.js';
export { descriptorPath, protoDir } from './descriptor.js';
export { descriptorSetPath, reflectionPackage, splitDescriptorSet } from './reflection-descriptors.js';
export {
  CLOUD_INGEST_SERVICE,
  UPLOAD_PATH,
  GATEWAY_METADATA_KEY,
  ERROR_CODE_METADATA_KEY,
  uploadServerDefinition,
  uploadClientDefinition,
  gatewayMetadataEntries,
  uploadRequest,
  batchBytesOf,
  type UploadAck,
} from './cloud-ingest-wire.js';
export {
  EDGE_INGEST_SERVICE,
  PUBLISH_PATH,
  SOURCE_METADATA_KEY,
  PASSWORD_METADATA_KEY,
  publishServerDefinition,
  publishClientDefinition,
  deviceMetadataEntries,
} from './edge-ingest-wire.js';
export { writeBytesFields, readBytesFields, soleBytesField, varint } from './wire-framing.js';
export { loadConfig, envOverrides, formatZodIssues, formatIssuePath, type LoadConfigOptions } from './config-file.js';
export { loadTls, type TlsFiles, type TlsMaterial } from './tls-files.js';
export { loadPilotFile, loadSeeds, SeedError } from './seed-loader.js';
export { checkDeviceKey, devicePassword } from './device-credentials.js';
export * from './seed-schema.js';
export {
  PacketSizeGuard,
  AddressLimiter,
  guardAedesParser,
  clientIdBelongsTo,
  CONNACK_IDENTIFIER_REJECTED,
  MQTT_PRE_AUTH_MAX_BYTES,
  MQTT_CONNECT_TIMEOUT_MS,
  type PacketGuardViolation,
  type PacketSizeGuardOptions,
} from './mqtt-packet-guard.js';
export {
  MEASUREMENTS,
  TAGS,
  MEASUREMENT_TAGS,
  FIELDS,
  FIELD_PREFIXES,
  MAP_FIELDS,
  ROLLUP_MEASUREMENTS,
  ROLLUP_FIELDS,
  ROLLUP_PROGRESS_FIELDS,
  type RollupFieldName,
  type Measurement,
  type TagName,
  type FieldType,
  type FieldName,
} from './storage-schema.js';
export * from './api/index.js';
