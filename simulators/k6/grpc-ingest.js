// gRPC ingest under load: each virtual user is one gateway uplink stream to the cloud's
// michi.v1.CloudIngestService/Upload (k6's native gRPC module, bidi streaming), sending batches of
// `batchSize` VehicleState readings of its own vehicle with sequence numbers 1, 2, 3, ... and
// waiting for each UploadResponse (sent by the cloud once InfluxDB accepted the batch).
// Thresholds: ack latency p95, rejected or failed batches, and zero loss checked at the end
// through the API's per-source sequence numbers.
import grpc from 'k6/net/grpc';
import { Counter, Rate, Trend } from 'k6/metrics';
import exec from 'k6/execution';
import { CFG, latencyThreshold, perSourceRun, vehicleState } from './lib/common.js';

const G = CFG.grpc || {};
const sources = G.sources || [];
const batches = G.batchesPerVu || 5;
const batchSize = G.batchSize || 100;

const client = new grpc.Client();
client.load([CFG.protoDir], 'michi/v1/ingest.proto');

const ackMs = new Trend('grpc_ack_ms', true);
const failed = new Rate('grpc_batch_failed');
const acked = new Counter('grpc_readings_acked');

export const { options, setup, teardown } = perSourceRun('gateways', G, batches * batchSize, {
  ...latencyThreshold('grpc_ack_ms', G.p95Ms, 500),
  grpc_batch_failed: ['rate<0.01'],
});

export default function () {
  const source = sources[exec.vu.idInTest - 1];
  client.connect(CFG.grpcAddr, { plaintext: true, timeout: '10s' });
  const stream = new grpc.Stream(client, 'michi.v1.CloudIngestService/Upload', {
    metadata: { authorization: `Bearer ${CFG.secrets[source.gateway]}`, 'x-michi-gateway': source.gateway },
  });
  const sentAt = new Map();
  let seq = 0;
  let sentBatches = 0;
  let lastTs = 0;
  const firstSeqBase = exec.vu.idInTest * 1e9;
  const sendBatch = () => {
    const items = [];
    for (let i = 0; i < batchSize; i++) {
      seq++;
      const ts = Math.max(Date.now(), lastTs + 1);
      lastTs = ts;
      items.push({ state: vehicleState(source.id, seq, ts) });
    }
    const firstSeq = firstSeqBase + sentBatches * batchSize;
    sentAt.set(String(firstSeq), Date.now());
    sentBatches++;
    stream.write({ batch: { pilot_id: CFG.pilot, gateway_id: source.gateway, first_seq: firstSeq, items, sent_ts_ms: Date.now() } });
  };
  stream.on('data', (res) => {
    const t = sentAt.get(String(res.firstSeq));
    sentAt.delete(String(res.firstSeq));
    if (t !== undefined) ackMs.add(Date.now() - t);
    const ok = res.status === 'ACK_STATUS_ACCEPTED' && (res.rejected || []).length === 0;
    failed.add(!ok);
    if (ok) acked.add(res.count);
    if (sentBatches < batches) sendBatch();
    else if (sentAt.size === 0) stream.end();
  });
  stream.on('error', (e) => {
    console.error(`gRPC stream error: ${e.message || JSON.stringify(e)}`);
    failed.add(true);
  });
  stream.on('end', () => client.close());
  // A window of batches in flight, then one more per acknowledgement.
  for (let i = 0; i < Math.min(G.window || 4, batches); i++) sendBatch();
}
