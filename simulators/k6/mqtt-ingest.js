// MQTT ingest under load: each virtual user is one vehicle, connected to its gateway's edge agent
// (MQTT 3.1.1 over WebSocket through the harness's relay), publishing `readingsPerVu` VehicleState
// readings (proto3 JSON, QoS 1) at `ratePerVu` per second with sequence numbers 1, 2, 3, ...
// Thresholds: PUBACK latency p95, publish errors, and zero loss: at the end every reading must be
// in InfluxDB, checked through the API's per-source sequence numbers.
import { WebSocket } from 'k6/websockets';
import { Counter, Rate, Trend } from 'k6/metrics';
import exec from 'k6/execution';
import { CFG, latencyThreshold, perSourceRun, vehicleState } from './lib/common.js';
import { connectPacket, disconnectPacket, packetReader, publishPacket, TYPES } from './lib/mqtt.js';

const M = CFG.mqtt || {};
const sources = M.sources || [];
const perVu = M.readingsPerVu || 10;

const pubackMs = new Trend('mqtt_puback_ms', true);
const failed = new Rate('mqtt_publish_failed');
const acked = new Counter('mqtt_readings_acked');

export const { options, setup, teardown } = perSourceRun('vehicles', M, perVu, {
  ...latencyThreshold('mqtt_puback_ms', M.p95Ms, 250),
  mqtt_publish_failed: ['rate<0.01'],
});

export default function () {
  const source = sources[exec.vu.idInTest - 1];
  const ws = new WebSocket(`${CFG.relayUrl}/${source.gateway}`, ['mqtt']);
  ws.binaryType = 'arraybuffer';
  const topic = `michi/v1/${CFG.pilot}/${source.gateway}/${source.id}/state`;
  const sentAt = new Map();
  let sent = 0;
  let done = 0;
  let lastTs = 0;
  let timer;
  const finish = () => {
    if (timer) clearInterval(timer);
    ws.send(disconnectPacket());
    ws.close();
  };
  const reader = packetReader((type, body) => {
    if (type === TYPES.CONNACK) {
      if (body[1] !== 0) {
        failed.add(true);
        return finish();
      }
      timer = setInterval(
        () => {
          if (sent >= perVu) return;
          sent++;
          const ts = Math.max(Date.now(), lastTs + 1);
          lastTs = ts;
          const id = ((sent - 1) % 65535) + 1;
          sentAt.set(id, Date.now());
          ws.send(publishPacket(topic, JSON.stringify(vehicleState(source.id, sent, ts)), id));
        },
        1000 / (M.ratePerVu || 10),
      );
    } else if (type === TYPES.PUBACK) {
      const id = (body[0] << 8) | body[1];
      const t = sentAt.get(id);
      if (t !== undefined) {
        sentAt.delete(id);
        pubackMs.add(Date.now() - t);
        failed.add(false);
        acked.add(1);
        done++;
        if (done >= perVu) finish();
      }
    }
  });
  // Per-device credentials: the harness derives each vehicle's password from its gateway's device key.
  ws.onopen = () => ws.send(connectPacket(`${source.id}.k6`, 60, source.id, source.password));
  ws.onmessage = (e) => reader.push(e.data);
  ws.onerror = () => {
    // After the last PUBACK the relay may drop the socket before k6 closes it: nothing failed then.
    if (done < perVu) failed.add(true);
    if (timer) clearInterval(timer);
  };
}
