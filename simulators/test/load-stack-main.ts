// A LoadStack as its own process, for benchmarks that measure each process's CPU apart:
//   node --conditions=michi-src --import tsx simulators/test/load-stack-main.ts [vehicles] [pilot]
// prints one JSON line (URLs, token, InfluxDB's pid and URL, the scaled seeds dir, the cloud's
// /metrics URL, whose hop histograms bench/latency.bench.ts reads) once everything listens, and stops everything on SIGTERM or SIGINT.
// MICHI_LOAD_EDGE_UPLINK='{"maxLiveBatchesInFlight":1}' gives the edges more uplink settings (JSON).
import { startLoadStack } from './load-stack.js';

const vehicles = Number(process.argv[2] ?? '100');
const pilotId = process.argv[3] ?? 'maebashi-l4-bus';
const edgeUplink = process.env['MICHI_LOAD_EDGE_UPLINK'];
const stack = await startLoadStack({
  pilotId,
  vehicles,
  ...(edgeUplink ? { edgeUplink: JSON.parse(edgeUplink) as Record<string, unknown> } : {}),
});
process.stdout.write(
  `${JSON.stringify({
    pilotId: stack.pilot.id,
    vehicles: stack.pilot.vehicles.length,
    gatewayUrls: stack.gatewayUrls,
    deviceKeys: stack.deviceKeys,
    apiUrl: stack.cloud.url,
    token: stack.operatorToken,
    influxUrl: stack.influx.url,
    influxDb: stack.influx.database,
    influxPid: stack.influx.pid,
    seedsDir: stack.seedsDir,
    metricsUrl: stack.cloud.metricsUrl,
  })}\n`,
);
let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  void stack.close().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
