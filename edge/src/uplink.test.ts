import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { envOverrides } from '@michi/proto';
import { EDGE_ENV_PREFIX, EdgeConfigSchema, type EdgeConfigInput } from './config.js';

/** What the schema says about uplink.* only (the other sections have their own tests). */
function uplinkIssues(uplink: EdgeConfigInput['uplink']): string[] {
  const result = EdgeConfigSchema.safeParse({ pilotId: 'maebashi-l4-bus', gatewayId: 'gw-ekimae', uplink });
  return (result.error?.issues ?? []).filter((i) => i.path[0] === 'uplink').map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('uplink settings', () => {
  it('accepts both modes, plain or TLS, with a CA file only where TLS is on', () => {
    expect(uplinkIssues({})).toEqual([]);
    expect(uplinkIssues({ url: 'mqtts://cloud.example.jp:8883', tls: { caFile: '/etc/michi/ca.pem' } })).toEqual([]);
    expect(uplinkIssues({ mode: 'grpc', passwordEnv: 'GW_SECRET', grpc: { address: 'cloud.example.jp:50051' } })).toEqual([]);
    expect(
      uplinkIssues({ mode: 'grpc', passwordEnv: 'GW_SECRET', grpc: { address: '[::1]:50051', tls: true }, tls: { caFile: 'ca.pem' } }),
    ).toEqual([]);
  });

  it('refuses what cannot work, saying what to change', () => {
    expect(uplinkIssues({ mode: 'amqp' as 'mqtt' })).toEqual(['uplink.mode: expected "mqtt" or "grpc"']);
    expect(uplinkIssues({ mode: 'grpc' })).toEqual([
      'uplink.passwordEnv: missing; uplink.mode grpc authenticates the upload stream with the gateway secret: name its variable here',
    ]);
    expect(uplinkIssues({ mode: 'grpc', passwordEnv: 'GW_SECRET', grpc: { address: 'grpc://cloud:50051' } })).toEqual([
      'uplink.grpc.address: expected host:port of the cloud gRPC ingest, e.g. 127.0.0.1:50051',
    ]);
    expect(uplinkIssues({ tls: { caFile: 'ca.pem' } })).toEqual([
      'uplink.tls.caFile: set, but the mqtt uplink is not TLS: use an mqtts:// uplink.url (mode mqtt) or uplink.grpc.tls: true (mode grpc)',
    ]);
    expect(uplinkIssues({ mode: 'grpc', passwordEnv: 'GW_SECRET', tls: { caFile: 'ca.pem' } })).toHaveLength(1);
  });

  it('takes every new setting from MICHI_EDGE_* variables', () => {
    const env = {
      MICHI_EDGE_UPLINK__MODE: 'grpc',
      MICHI_EDGE_UPLINK__GRPC__ADDRESS: 'cloud.example.jp:50051',
      MICHI_EDGE_UPLINK__GRPC__TLS: 'true',
      MICHI_EDGE_UPLINK__TLS__CA_FILE: '/etc/michi/ca.pem',
    };
    expect(envOverrides(env, EDGE_ENV_PREFIX)).toEqual({
      uplink: { mode: 'grpc', grpc: { address: 'cloud.example.jp:50051', tls: true }, tls: { caFile: '/etc/michi/ca.pem' } },
    });
  });

  it('does not load @grpc/grpc-js unless gRPC is used (the agent has a 100 MB RSS budget)', () => {
    // A fresh process: the agent's modules, then the gRPC uplink. grpc-js is CommonJS, so once
    // loaded it is in require.cache.
    const script = `
      import { createRequire } from 'node:module';
      const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('@grpc/grpc-js'));
      await import('./edge/src/index.ts');
      const withAgent = loaded();
      await import('./edge/src/uplink-grpc.ts');
      console.log(JSON.stringify({ withAgent, withGrpcUplink: loaded() }));`;
    const out = execFileSync(process.execPath, ['--conditions=michi-src', '--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      encoding: 'utf8',
    });
    expect(JSON.parse(out)).toEqual({ withAgent: false, withGrpcUplink: true });
  });
});
