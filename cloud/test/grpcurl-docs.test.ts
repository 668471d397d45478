// The gRPC commands of docs/protocol.md, run as written (only the port changed) with the real Go
// tools, grpcurl and grpc_health_probe, against a real cloud and InfluxDB: reflection alone must be
// enough for them. Go's protobuf refused the descriptors @grpc/reflection derived through
// protobufjs ("michi.v1.VehicleState.signals is an invalid map: incorrect implicit map entry
// name"), so `describe`, the documented Upload and the health check all failed while `list` worked.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloud, type CloudService } from '../src/index.js';
import { goToolPath, startInfluxDb, type InfluxHandle } from '../../scripts/test-support/index.js';
import { SECRET_ENV, cloudConfig, testLogger } from './support.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SECRET = 'ekimae-secret-of-the-grpcurl-test';
const ENV = {
  ...SECRET_ENV,
  MICHI_GW_MAEBASHI_EKIMAE_SECRET: SECRET,
  MICHI_GW_MAEBASHI_HONMACHI_SECRET: 'honmachi-secret-of-the-grpcurl-test',
};

/** The shell block of docs/protocol.md that starts with grpc_health_probe, one command per entry. */
function documentedCommands(): string[] {
  const doc = readFileSync(`${ROOT}docs/protocol.md`, 'utf8');
  const block = /```sh\n(grpc_health_probe[^]*?)```/.exec(doc)?.[1];
  if (!block) throw new Error('docs/protocol.md has no sh block starting with grpc_health_probe');
  return block
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .filter((l) => l.trim() !== '');
}

let influx: InfluxHandle;
let cloud: CloudService;
let tools: { grpcurl: string; probe: string };

beforeAll(async () => {
  tools = { grpcurl: goToolPath('grpcurl'), probe: goToolPath('grpc-health-probe') };
  influx = await startInfluxDb();
  cloud = await startCloud(
    cloudConfig(
      influx.url,
      {
        seedsDir: `${ROOT}seeds`,
        grpc: { enabled: true, port: 0 },
        auth: { tokens: [{ id: 'test-operator', role: 'operator', pilots: ['*'], tokenEnv: 'MICHI_TEST_API_OPERATOR' }] },
      },
      ENV,
    ),
    {
      logger: testLogger,
    },
  );
}, 600_000);

afterAll(async () => {
  await cloud?.close();
  await influx?.stop();
});

// Asynchronously: the cloud runs in this process, and a synchronous child would block it from answering.
// Both streams: grpc_health_probe answers on stderr.
const sh = async (line: string): Promise<string> => {
  const out = await promisify(execFile)('bash', ['-c', line], { encoding: 'utf8', env: { ...process.env, ...ENV } });
  return out.stdout + out.stderr;
};

function run(command: string): Promise<string> {
  const line = command
    .replaceAll('127.0.0.1:50051', `127.0.0.1:${cloud.grpcPort}`)
    .replace(/^grpc_health_probe /, `${tools.probe} `)
    .replace(/^grpcurl /, `${tools.grpcurl} `);
  return sh(line);
}

describe('docs/protocol.md gRPC commands, with reflection only', () => {
  it('each documented command succeeds', async () => {
    const commands = documentedCommands();
    expect(commands.map((c) => c.split(' ')[0] + ' ' + (c.match(/ (list|describe|michi\.v1\.\S+)/)?.[1] ?? ''))).toEqual([
      'grpc_health_probe ',
      'grpcurl list',
      'grpcurl michi.v1.CloudIngestService/Upload',
    ]);
    expect(await run(commands[0]!)).toContain('SERVING');
    expect((await run(commands[1]!)).split('\n')).toEqual(expect.arrayContaining(['michi.v1.CloudIngestService', 'grpc.health.v1.Health']));
    const ack = JSON.parse(await run(commands[2]!)) as { status?: string; count?: number };
    expect(ack).toMatchObject({ count: 1 });
    expect(ack.status ?? 'ACK_STATUS_ACCEPTED').toBe('ACK_STATUS_ACCEPTED');
    const rows = await influx.rows(`SELECT count(speed_mps) FROM vehicle_state WHERE source = 'bus-01' AND gateway = 'gw-ekimae'`);
    expect(Number(rows[0]?.['count'])).toBe(1);
  });

  it('describes every michi.v1 type, map fields included, and the health service', async () => {
    const base = `${tools.grpcurl} -plaintext 127.0.0.1:${cloud.grpcPort}`;
    const described = (symbol: string): Promise<string> => sh(`${base} describe ${symbol}`);
    expect(await described('michi.v1.CloudIngestService')).toContain('rpc Upload ( stream .michi.v1.UploadRequest )');
    expect(await described('michi.v1.VehicleState')).toMatch(/map<string, \S+> signals = \d+/);
    expect(await described('grpc.health.v1.Health')).toContain('rpc Check');
    // Only what this server serves is listed: the edge's service is not.
    expect(await sh(`${base} list`)).not.toContain('EdgeIngestService');
  });
});
