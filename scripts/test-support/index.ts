// Helpers for tests that run the real infrastructure: InfluxDB, Mosquitto, Chromium, TLS certificates.
export { startInfluxDb, influxConfig } from './influxdb.js';
export type { InfluxHandle, InfluxQueryOptions, InfluxResult, InfluxWriteOptions, StartInfluxDbOptions } from './influxdb.js';
export { startMosquitto } from './mosquitto.js';
export type { MosquittoHandle, StartMosquittoOptions } from './mosquitto.js';
export { startNatsCluster } from './nats.js';
export type { NatsClusterHandle, NatsClusterLayout, NatsNodeHandle, StartNatsClusterOptions } from './nats.js';
export { launchChromium, CHROMIUM_ARGS, CHROMIUM_PATH } from './chromium.js';
export { freePort, freePorts, stablePorts, tcpConnect, waitFor } from './ports.js';
export { serverNoDelayCalls } from './no-delay.js';
export type { WaitForOptions } from './ports.js';
export { buildStack, stackCloudEnv, startPilotEdges, startStack } from './stack.js';
export type { PilotEdgesOptions, PilotStack, StackBase, StackOptions, TestStack } from './stack.js';
export { makeTestPki, type TestPki } from './tls-certs.js';
export { scratchDatabaseEnv, scratchDatabases } from './scratch-databases.js';
export { goToolPath, type GoTool } from './go-tools.js';
