// LiveClient's throttle and back-pressure, driven with a socket whose send buffer the test fills
// and drains (the ws server and a real client are in cloud/test/api-live.test.ts).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LiveClient, type LiveSocket } from './live-client.js';

class TestSocket implements LiveSocket {
  bufferedAmount = 0;
  readonly sent: { vehicle: { id: string; state: { v: number } } }[] = [];
  send(data: string): void {
    this.sent.push(JSON.parse(data) as TestSocket['sent'][number]);
  }
}

function setup(intervalMs = 1_000, maxBuffered = 1_000, batch = false) {
  const socket = new TestSocket();
  const states = new Map<string, number>();
  const drops = { throttled: 0, slow_client: 0 };
  const pushedMs: number[] = [];
  const client = new LiveClient(
    socket,
    intervalMs,
    maxBuffered,
    (v) => {
      const s = states.get(v);
      return s === undefined ? undefined : { id: v, state: { v: s }, ts: s };
    },
    { sent: () => undefined, dropped: (reason, n) => (drops[reason] += n), pushed: (ms) => pushedMs.push(ms) },
    () => Date.now(),
    batch,
  );
  const change = (v: string, value: number) => {
    states.set(v, value);
    client.changed(v);
  };
  return { socket, client, change, drops, pushedMs };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('LiveClient', () => {
  it('reports how long each sent state waited after its change (the live_push hop), throttle included', async () => {
    vi.useFakeTimers();
    const { socket, client, change, pushedMs } = setup(100);
    client.start(new Map());
    change('v1', 1);
    await vi.advanceTimersByTimeAsync(1);
    // Within its interval: held until its turn, 100 ms after the first send.
    await vi.advanceTimersByTimeAsync(29);
    change('v1', 2);
    await vi.advanceTimersByTimeAsync(100);
    expect(socket.sent.map((m) => m.vehicle.state.v)).toEqual([1, 2]);
    expect(pushedMs).toEqual([0, 70]);
  });

  it('with batch, sends the changes of one moment as one states message, a lone change as a state message', async () => {
    vi.useFakeTimers();
    const { socket, client, change } = setup(1_000, 1_000_000, true);
    client.start(new Map());
    for (let i = 0; i < 600; i++) change(`v${i}`, i + 1);
    await vi.advanceTimersByTimeAsync(1);
    // 600 vehicles in messages of at most 250, in the order they changed, none twice.
    const sent = socket.sent as unknown as { type: string; vehicles: { id: string; state: { v: number } }[] }[];
    expect(sent.map((m) => [m.type, m.vehicles.length])).toEqual([
      ['states', 250],
      ['states', 250],
      ['states', 100],
    ]);
    expect(sent.flatMap((m) => m.vehicles.map((v) => v.state.v))).toEqual(Array.from({ length: 600 }, (_, i) => i + 1));
    await vi.advanceTimersByTimeAsync(1_000);
    change('v7', 1_000);
    await vi.advanceTimersByTimeAsync(1);
    expect(socket.sent.at(-1)).toEqual({ type: 'state', vehicle: { id: 'v7', state: { v: 1_000 } } });
  });

  it('with batch, stops between messages while the socket buffer is over the bound', async () => {
    vi.useFakeTimers();
    const { socket, client, change } = setup(1_000, 1_000, true);
    client.start(new Map());
    for (let i = 0; i < 600; i++) change(`v${i}`, i + 1);
    socket.send = function (this: TestSocket, data: string) {
      TestSocket.prototype.send.call(this, data);
      this.bufferedAmount += data.length;
    };
    await vi.advanceTimersByTimeAsync(1);
    expect(socket.sent).toHaveLength(1);
    socket.bufferedAmount = 0;
    await vi.advanceTimersByTimeAsync(60);
    expect(socket.sent).toHaveLength(2);
  });

  it('sends a change at once, then at most one per interval per vehicle, with the latest state', async () => {
    vi.useFakeTimers();
    const { socket, client, change, drops } = setup(1_000);
    client.start(new Map());
    change('a', 1);
    await vi.advanceTimersByTimeAsync(1);
    expect(socket.sent.map((m) => m.vehicle.state.v)).toEqual([1]);
    change('a', 2);
    change('a', 3);
    change('b', 10); // another vehicle has its own budget
    await vi.advanceTimersByTimeAsync(1);
    expect(socket.sent.map((m) => [m.vehicle.id, m.vehicle.state.v])).toEqual([
      ['a', 1],
      ['b', 10],
    ]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(socket.sent.map((m) => [m.vehicle.id, m.vehicle.state.v])).toEqual([
      ['a', 1],
      ['b', 10],
      ['a', 3],
    ]);
    expect(drops.throttled).toBe(1); // 2 was overtaken by 3
    client.close();
  });

  it('holds everything while the socket buffer is over the bound, keeps only the latest per vehicle, and counts the rest', async () => {
    vi.useFakeTimers();
    const { socket, client, change, drops } = setup(100, 1_000);
    client.start(new Map());
    socket.bufferedAmount = 5_000; // a client that stopped reading
    for (let i = 1; i <= 50; i++) {
      change('a', i);
      change('b', 100 + i);
      await vi.advanceTimersByTimeAsync(20);
    }
    expect(socket.sent).toEqual([]);
    expect(drops.slow_client).toBe(98); // 49 overtaken per vehicle
    socket.bufferedAmount = 0; // it drained
    await vi.advanceTimersByTimeAsync(100);
    expect(socket.sent.map((m) => [m.vehicle.id, m.vehicle.state.v])).toEqual([
      ['a', 50],
      ['b', 150],
    ]);
    client.close();
  });

  it('does not repeat the state the snapshot already showed', async () => {
    vi.useFakeTimers();
    const { socket, client, change } = setup(100);
    change('a', 7);
    client.start(new Map([['a', 7]]));
    await vi.advanceTimersByTimeAsync(200);
    expect(socket.sent).toEqual([]);
    change('a', 8);
    await vi.advanceTimersByTimeAsync(1);
    expect(socket.sent.map((m) => m.vehicle.state.v)).toEqual([8]);
    client.close();
  });

  it('never sends a state older than the one the snapshot showed or the last one sent', async () => {
    vi.useFakeTimers();
    const { socket, client, change } = setup(100);
    client.start(new Map([['a', 7]]));
    change('a', 5); // e.g. a delayed viewer's stale history: older than the snapshot
    await vi.advanceTimersByTimeAsync(200);
    expect(socket.sent).toEqual([]);
    change('a', 9);
    await vi.advanceTimersByTimeAsync(200);
    change('a', 8);
    await vi.advanceTimersByTimeAsync(200);
    expect(socket.sent.map((m) => m.vehicle.state.v)).toEqual([9]);
    client.close();
  });
});
