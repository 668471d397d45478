import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadCloudConfig } from './config.js';
import { natsBatchSubject } from './nats-cluster-config.js';
import { batchFilterSubject, batchTopicOfSubject, retryDelayMs } from './worker-nats.js';

function configFile(worker: unknown): string {
  const f = join(mkdtempSync(join(tmpdir(), 'michi-worker-nats-')), 'cloud.yaml');
  writeFileSync(f, stringify({ worker }));
  return f;
}

describe('worker.nats settings', () => {
  it('take a cluster of exactly three named nodes, with default ports', () => {
    const nodes = [1, 2, 3].map((i) => ({ name: `n${i}`, host: `10.0.0.${i}` }));
    const c = loadCloudConfig(configFile({ mode: 'nats', nats: { cluster: { nodes } } }), {});
    expect(c.worker.nats.cluster?.nodes[0]).toEqual({
      name: 'n1',
      host: '10.0.0.1',
      clientPort: 4222,
      mqttPort: 1883,
      clusterPort: 6222,
      httpPort: 8222,
    });
    expect(() => loadCloudConfig(configFile({ nats: { cluster: { nodes: nodes.slice(0, 2) } } }), {})).toThrow(
      /worker\.nats\.cluster\.nodes: expected exactly three nodes/,
    );
    expect(() => loadCloudConfig(configFile({ nats: { cluster: { nodes: [...nodes.slice(0, 2), nodes[0]] } } }), {})).toThrow(
      /every node needs its own name/,
    );
  });

  it('refuse servers that are not nats:// or tls:// URLs, and stream names NATS would refuse', () => {
    expect(() => loadCloudConfig(configFile({ nats: { servers: ['mqtt://10.0.0.1:1883'] } }), {})).toThrow(
      /worker\.nats\.servers\[0\]: expected nats:\/\/host:port or tls:\/\/host:port/,
    );
    expect(() => loadCloudConfig(configFile({ nats: { durable: 'michi.ingest' } }), {})).toThrow(
      /worker\.nats\.durable: expected a JetStream name/,
    );
  });
});

describe('subjects of batch topics', () => {
  it('map michi/v1/{pilot}/{gateway}/batch to the subject NATS gives it, and back', () => {
    const subject = natsBatchSubject('maebashi-l4-bus', 'gw-ekimae');
    expect(subject).toBe('michi.v1.maebashi-l4-bus.gw-ekimae.batch');
    expect(batchTopicOfSubject(`$MQTT.msgs.${subject}`)).toBe('michi/v1/maebashi-l4-bus/gw-ekimae/batch');
    expect(batchFilterSubject('$MQTT_msgs')).toBe('$MQTT.msgs.michi.v1.*.*.batch');
    expect(batchFilterSubject('BATCHES')).toBe('michi.v1.*.*.batch');
  });

  it('back off redeliveries after a storage refusal from 100 ms to 5 s', () => {
    expect([1, 2, 3, 6, 7, 50].map(retryDelayMs)).toEqual([100, 200, 400, 3_200, 5_000, 5_000]);
  });
});
