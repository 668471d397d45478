// The load stack of simulators/test/load-stack.ts as its own process, for bench/latency.bench.ts:
// prints the JSON line StackInfo describes (as simulators/test/load-stack-main.ts does) plus the
// cloud's /metrics URL, whose hop histograms give the per-hop breakdown, and stops on SIGTERM.
//   node --conditions=michi-src --import tsx bench/latency-stack-main.ts <vehicles> [pilot]
import { startLoadStack } from '../simulators/test/load-stack.js';
import type { StackInfo } from './sim-harness.js';

const stack = await startLoadStack({ pilotId: process.argv[3] ?? 'maebashi-l4-bus', vehicles: Number(process.argv[2] ?? '10') });
const info: StackInfo = {
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
};
process.stdout.write(`${JSON.stringify(info)}\n`);
const stop = (): void => void stack.close().finally(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
