// LiveFeed.pushToOperators, the extension point of the alarms: a message pushed for one pilot reaches
// every operator connection of that pilot at once (not throttled), and no viewer of it and no
// connection of another pilot, against a real cloud (InfluxDB, HTTP, WebSocket).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKENS, roundTrip, startApiTestCloud, watchLive, type ApiTestCloud, type LiveWatcher } from './fixtures/api-support.js';

let t: ApiTestCloud;

beforeAll(async () => {
  t = await startApiTestCloud();
});

afterAll(async () => {
  await t?.close();
});

const watch = (pilot: string, token: string): Promise<LiveWatcher> => watchLive(t.cloud, pilot, token);

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
