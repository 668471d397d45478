// A real aedes broker on 127.0.0.1, port 0, for the simulator's tests: it records every publish a
// client made (topic, payload, QoS, client id), which is what an edge agent's broker receives.
import net from 'node:net';
import { Aedes } from 'aedes';

export interface ReceivedPublish {
  topic: string;
  payload: Buffer;
  qos: number;
  clientId: string;
}

export interface TestBroker {
  url: string;
  port: number;
  received: ReceivedPublish[];
  stop(): Promise<void>;
}

export async function startTestBroker(): Promise<TestBroker> {
  const broker = await Aedes.createBroker();
  const received: ReceivedPublish[] = [];
  broker.on('publish', (packet, client) => {
    // Publishes without a client are the broker's own $SYS messages.
    if (client) received.push({ topic: packet.topic, payload: Buffer.from(packet.payload), qos: packet.qos, clientId: client.id });
  });
  const server = net.createServer(broker.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    received,
    async stop() {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
