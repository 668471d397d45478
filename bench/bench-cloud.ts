// The environment the API benchmarks load their cloud's configuration from: one operator token,
// every listener on a free port, no gRPC, the benchmark's private InfluxDB, its alarm and record
// databases in `dir`, and no per-token rate limit (requests back to back with one token would
// measure api.limits, not the API).
import { scratchDatabaseEnv } from '../scripts/test-support/index.js';

export function benchCloudEnv(
  influx: { url: string; database: string },
  token: string,
  dir: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    ...scratchDatabaseEnv(dir),
    MICHI_BENCH_TOKEN: token,
    MICHI_CLOUD_AUTH__TOKENS: JSON.stringify([{ id: 'bench', role: 'operator', pilots: ['*'], tokenEnv: 'MICHI_BENCH_TOKEN' }]),
    MICHI_CLOUD_MQTT__PORT: '0',
    MICHI_CLOUD_HTTP__PORT: '0',
    MICHI_CLOUD_METRICS__PORT: '0',
    MICHI_CLOUD_GRPC__ENABLED: 'false',
    MICHI_CLOUD_INFLUX__URL: influx.url,
    MICHI_CLOUD_INFLUX__DATABASE: influx.database,
    MICHI_CLOUD_API__LIMITS__RATE__PER_SECOND: '100000',
    MICHI_CLOUD_API__LIMITS__RATE__BURST: '100000',
    ...extra,
  };
}
