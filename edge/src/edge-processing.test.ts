import { describe, expect, it } from 'vitest';
import { makeReading, v1 } from '@michi/proto';
import { EdgeProcessing, type ProcessingOptions } from './edge-processing.js';

const T0 = Date.UTC(2026, 10, 28, 9);
const off: ProcessingOptions = {
  minIntervalMs: { state: 0, link: 0, sensor: 0 },
  stateDeadband: { positionM: 0, speedMps: 0, maxIntervalMs: 10_000 },
  clockSkewWarnMs: 2_000,
};
const link = (ts: number) => makeReading('link', { source_id: 'bus-01', ts_ms: ts, seq: 1, pci: 1 });
const state = (ts: number, lat: number, speed: number, mode = v1.AutonomyMode.AUTONOMY_MODE_AUTONOMOUS) =>
  makeReading('state', { source_id: 'bus-01', ts_ms: ts, seq: 1, position: { lat, lon: 139 }, speed_mps: speed, mode });

describe('EdgeProcessing', () => {
  it('keeps everything when off, and measures the clock offset of each reading', () => {
    const p = new EdgeProcessing(off);
    expect(p.process(link(T0), 'link', 'bus-01', T0 + 500)).toEqual({ keep: true, offsetMs: -500, skewed: false });
    expect(p.process(link(T0 + 1), 'link', 'bus-01', T0 - 5_000)).toEqual({ keep: true, offsetMs: 5_001, skewed: true });
  });

  it('downsamples per source and kind by source time, and starts afresh when a clock goes back', () => {
    const p = new EdgeProcessing({ ...off, minIntervalMs: { state: 0, link: 1_000, sensor: 0 } });
    const kept = [0, 100, 900, 1_000, 1_500, 2_100, 2_200].filter((dt) => p.process(link(T0 + dt), 'link', 'bus-01', T0 + dt).keep);
    expect(kept).toEqual([0, 1_000, 2_100]);
    expect(p.process(link(T0 + 50), 'link', 'bus-02', T0).keep).toBe(true); // another source
    expect(p.process(link(T0 - 60_000), 'link', 'bus-01', T0).keep).toBe(true); // clock went back
    expect(p.process(link(T0 - 59_500), 'link', 'bus-01', T0)).toMatchObject({ keep: false, reason: 'downsample' });
    const event = makeReading('event', { source_id: 'bus-01', ts_ms: T0, seq: 2, type: v1.EventType.EVENT_TYPE_TAKEOVER });
    expect(p.process(event, 'event', 'bus-01', T0).keep).toBe(true);
    expect(p.process(event, 'event', 'bus-01', T0).keep).toBe(true);
  });

  it('drops a state inside the deadband, keeps one that moved, changed speed or mode, or after maxIntervalMs', () => {
    const p = new EdgeProcessing({ ...off, stateDeadband: { positionM: 5, speedMps: 0.5, maxIntervalMs: 10_000 } });
    const lat = 36.38;
    const m = 1 / 111_195; // about one metre of latitude
    expect(p.process(state(T0, lat, 3), 'state', 'bus-01', T0).keep).toBe(true);
    expect(p.process(state(T0 + 100, lat + 2 * m, 3.2), 'state', 'bus-01', T0)).toMatchObject({ keep: false, reason: 'deadband' });
    expect(p.process(state(T0 + 200, lat + 6 * m, 3.2), 'state', 'bus-01', T0).keep).toBe(true); // moved 6 m
    expect(p.process(state(T0 + 300, lat + 6 * m, 3.8), 'state', 'bus-01', T0).keep).toBe(true); // speed +0.6
    const manual = v1.AutonomyMode.AUTONOMY_MODE_MANUAL;
    expect(p.process(state(T0 + 400, lat + 6 * m, 3.8, manual), 'state', 'bus-01', T0).keep).toBe(true); // mode
    expect(p.process(state(T0 + 500, lat + 6 * m, 3.8, manual), 'state', 'bus-01', T0).keep).toBe(false);
    expect(p.process(state(T0 + 10_400, lat + 6 * m, 3.8, manual), 'state', 'bus-01', T0).keep).toBe(true); // heartbeat
  });
});
