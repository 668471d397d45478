// LiveFeed.pushToOperators, the extension point of the alarms: a message pushed for one pilot reaches
// every operator connection of that pilot at once (not throttled), and no viewer of it and no
// connection of another pilot, against a real cloud (InfluxDB, HTTP, WebSocket).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { waitFor } from '../../scripts/test-support/index.js';
import { TOKENS, startApiTestCloud, type ApiTestCloud } from './fixtures/api-support.js';

let t: ApiTestCloud;

beforeAll(async () => {
  t = await startApiTestCloud();
});

afterAll(async () => {
  await t?.close();
});

interface Watcher {
  ws: WebSocket;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- messages are dug into by the assertions
  received: any[];
}

async function watch(pilot: string, token: string): Promise<Watcher> {
  const ws = new WebSocket(`${t.cloud.url.replace(/^http/, 'ws')}/api/v1/live?pilot=${pilot}`, ['michi.v1', `bearer.${token}`]);
  const w: Watcher = { ws, received: [] };
  ws.on('message', (data: Buffer) => w.received.push(JSON.parse(data.toString())));
  await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
  await waitFor(() => w.received.some((m) => m.type === 'snapshot'), { what: 'the snapshot' });
  return w;
}

/** Everything the server sent before this call has arrived once the pong has: one TCP stream, in order. */
function roundTrip(ws: WebSocket): Promise<void> {
  return new Promise((resolve) => (ws.once('pong', () => resolve()), ws.ping()));
}

describe('pushToOperators', () => {
  it("reaches the pilot's operators, every message, and neither its viewers nor another pilot's operators", async () => {
    const operators = [await watch('test-town', TOKENS.operator), await watch('test-town', TOKENS.operator)];
    const viewer = await watch('test-town', TOKENS.townViewer);
    const otherPilot = await watch('other-town', TOKENS.operator);
    const everyone = [...operators, viewer, otherPilot];
    try {
      const before = everyone.map((w) => w.received.length);
      const first = { type: 'alarm', alarm: { rule: 'link-quality', source: 'bus-1', state: 'firing' } };
      const second = { type: 'alarm', alarm: { rule: 'link-quality', source: 'bus-1', state: 'resolved' } };
      expect(t.cloud.live.pushToOperators('test-town', first)).toBe(2);
      expect(t.cloud.live.pushToOperators('test-town', second)).toBe(2);
      await Promise.all(everyone.map((w) => roundTrip(w.ws)));
      for (const op of operators) expect(op.received.slice(before[0])).toEqual([first, second]);
      expect(viewer.received.slice(before[2])).toEqual([]);
      expect(otherPilot.received.slice(before[3])).toEqual([]);
      // no open operator connection of a pilot: nobody to tell
      expect(t.cloud.live.pushToOperators('nowhere', first)).toBe(0);
    } finally {
      for (const w of everyone) w.ws.close();
    }
  });
});
