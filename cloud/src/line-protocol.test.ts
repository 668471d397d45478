import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PayloadError, v1, type michi } from '@michi/proto';
import { LineBody, escapeKey, escapeMeasurement, float32Value, quoteString, readingToLine } from './line-protocol.js';

const ctx = { pilot: 'test-town', gateway: 'gw-a', recvMs: 1_764_300_000_123 };

/**
 * A reference reader of one line, following the InfluxDB 1.x parser's rules: `\` escapes the next
 * character in measurement, keys and tag values (only `,`, `=`, space are unescaped); string field
 * values are quoted, with `\"` and `\\` unescaped.
 */
function parseLine(line: string): {
  measurement: string;
  tags: Record<string, string>;
  fields: Record<string, string | number | boolean>;
  time: number;
} {
  let i = 0;
  const until = (stops: string): string => {
    let out = '';
    while (i < line.length && !stops.includes(line[i]!)) {
      if (line[i] === '\\' && i + 1 < line.length && ',= '.includes(line[i + 1]!)) i++;
      out += line[i++];
    }
    return out;
  };
  const measurement = until(', ');
  const tags: Record<string, string> = {};
  while (line[i] === ',') {
    i++;
    const k = until('=');
    i++;
    tags[k] = until(', ');
  }
  expect(line[i]).toBe(' ');
  i++;
  const fields: Record<string, string | number | boolean> = {};
  for (;;) {
    const k = until('=');
    i++;
    if (line[i] === '"') {
      i++;
      let s = '';
      while (line[i] !== '"') {
        if (line[i] === '\\' && (line[i + 1] === '"' || line[i + 1] === '\\')) i++;
        s += line[i++];
        expect(i).toBeLessThan(line.length);
      }
      i++;
      fields[k] = s;
    } else {
      const raw = until(', ');
      fields[k] = raw === 'true' ? true : raw === 'false' ? false : raw.endsWith('i') ? Number(raw.slice(0, -1)) : Number(raw);
    }
    if (line[i] !== ',') break;
    i++;
  }
  expect(line[i]).toBe(' ');
  return { measurement, tags, fields, time: Number(line.slice(i + 1)) };
}

describe('readingToLine', () => {
  it('writes a VehicleState with only pilot and source as tags, the mode by name and float32 values as sent', () => {
    const state = v1.VehicleState.decode(
      v1.VehicleState.encode({
        source_id: 'bus-1',
        ts_ms: 1_764_300_000_000,
        seq: 42,
        position: { lat: 36.3839, lon: 139.0733 },
        speed_mps: 12.3,
        heading_deg: 90,
        accel_mps2: -0.5,
        mode: v1.AutonomyMode.AUTONOMY_MODE_REMOTE_ASSIST,
        odometer_m: 1234.5,
        battery_pct: 77.7,
        signals: { 'Vehicle.Cabin.Door.Row1.IsOpen': 1 },
      }).finish(),
    );
    expect(readingToLine({ state }, ctx)).toBe(
      'vehicle_state,pilot=test-town,source=bus-1 lat=36.3839,lon=139.0733,speed_mps=12.3,heading_deg=90,accel_mps2=-0.5,mode="REMOTE_ASSIST",' +
        'odometer_m=1234.5,battery_pct=77.7,sig.Vehicle.Cabin.Door.Row1.IsOpen=1,seq=42i,gateway="gw-a",recv_ms=1764300000123i 1764300000000',
    );
  });

  it('tags a LinkSample with its cell, sorted before pilot and source, and leaves out an unmeasured RSRP', () => {
    const line = readingToLine(
      { link: { source_id: 'bus-1', ts_ms: 1_764_300_000_000, seq: 1, cell_id: '001-01:0x0a', pci: 7, band: 'n79', handover: true } },
      ctx,
    );
    // The radio figures it did not carry are left out, not written as 0 (issue 11).
    expect(line.startsWith('link_sample,cell=001-01:0x0a,pilot=test-town,source=bus-1 pci=7i,band="n79",handover=true,')).toBe(true);
    for (const f of ['rsrp_dbm', 'rsrq_db', 'sinr_db', 'rtt_ms', 'ul_mbps', 'dl_mbps']) expect(line).not.toContain(f);
  });

  it('writes a measured 0 and leaves out an absent measurement (battery_pct, odometer_m, rtt_ms, pci)', () => {
    const link = readingToLine({ link: { source_id: 'bus-1', ts_ms: 1_764_300_000_000, seq: 1, pci: 0, rtt_ms: 0, ul_mbps: 0 } }, ctx);
    expect(link).toContain(' pci=0i,rtt_ms=0,ul_mbps=0,');
    expect(link).not.toContain('dl_mbps');
    const state = readingToLine({ state: { source_id: 'bus-1', ts_ms: 1_764_300_000_000, seq: 1, battery_pct: 0 } }, ctx);
    expect(state).toContain(',battery_pct=0,');
    expect(state).not.toContain('odometer_m');
    const noBattery = readingToLine({ state: { source_id: 'bus-1', ts_ms: 1_764_300_000_000, seq: 1 } }, ctx);
    expect(noBattery).not.toContain('battery_pct');
  });

  it('writes sensor counts as integers and measures as floats, events with names for type, cause and severity', () => {
    const sensor = readingToLine(
      {
        sensor: {
          source_id: 'lidar-1',
          ts_ms: 1_764_300_000_000,
          seq: 3,
          sensor_kind: 1,
          counts: { pedestrians: 4 },
          measures: { queue_length_m: 12.5 },
        },
      },
      ctx,
    );
    expect(sensor).toContain('sensor_kind="LIDAR",count.pedestrians=4i,measure.queue_length_m=12.5,seq=3i');
    const event = readingToLine(
      { event: { source_id: 'bus-1', ts_ms: 1_764_300_000_000, seq: 4, type: 3, cause: 9, severity: 3, detail: 'say "stop"\\now' } },
      ctx,
    );
    expect(event).toContain('type="EMERGENCY_STOP",cause="SYSTEM_FAULT",severity="CRITICAL",detail="say \\"stop\\"\\\\now"');
  });

  it('refuses a reading without a timestamp instead of letting InfluxDB stamp it with its own clock', () => {
    expect(() => readingToLine({ state: { source_id: 'bus-1', seq: 1 } }, ctx)).toThrow(PayloadError);
  });

  it('escapes keys and quotes strings as the InfluxDB 1.x parser expects', () => {
    expect(escapeKey('a,b=c d')).toBe('a\\,b\\=c\\ d');
    expect(escapeMeasurement('a,b c=d')).toBe('a\\,b\\ c=d');
    expect(quoteString('a"b\\c\nd')).toBe('"a\\"b\\\\c\nd"');
    for (const bad of ['', 'a\\b', 'a\nb', 'a\rb']) expect(() => escapeKey(bad)).toThrow(PayloadError);
  });

  it('stores a float32 as its shortest decimal', () => {
    expect(float32Value(Math.fround(12.3))).toBe(12.3);
    expect(float32Value(Math.fround(0.1))).toBe(0.1);
    expect(float32Value(12.3)).toBe(12.3); // a double from JSON is kept as it is
    fc.assert(
      fc.property(fc.float({ noNaN: true, noDefaultInfinity: true }), (f) => {
        expect(Math.fround(float32Value(f))).toBe(f === 0 ? 0 : f);
      }),
    );
  });

  it('property: the float32 decimal is the one toPrecision gives with the fewest digits that survive the round trip', () => {
    // The reference: what float32Value computed with toPrecision before it used arithmetic.
    const shortest = (f: number): number => {
      for (let p = 1; p <= 9; p++) {
        const s = Number(f.toPrecision(p));
        if (Math.fround(s) === f) return s;
      }
      throw new Error(`no decimal of 9 digits gives ${f}`);
    };
    const everyMagnitude = fc
      .tuple(fc.integer({ min: -45, max: 38 }), fc.double({ min: 1, max: 10, noNaN: true }), fc.boolean())
      .map(([e, m, negative]) => Math.fround((negative ? -m : m) * 10 ** e))
      .filter((f) => Number.isFinite(f) && f !== 0 && !Number.isInteger(f));
    fc.assert(
      fc.property(fc.oneof(fc.float({ noNaN: true, noDefaultInfinity: true }), everyMagnitude), (f) => {
        if (Number.isInteger(f)) return;
        expect(float32Value(f)).toBe(shortest(f));
      }),
      { numRuns: 20_000 },
    );
  });

  it('property: any strings in tags and fields give one well-formed line that reads back equal, or a PayloadError', () => {
    const text = fc.string({ unit: 'binary', maxLength: 40 });
    fc.assert(
      fc.property(text, text, text, text, text, text, (pilot, source, cell, gateway, detail, slice) => {
        const reading: michi.v1.Reading.$Properties = {
          link: { source_id: source, ts_ms: 1_764_300_000_000, seq: 1, cell_id: cell, band: detail, slice },
        };
        let line: string;
        try {
          line = readingToLine(reading, { pilot, gateway, recvMs: 1 });
        } catch (err) {
          expect(err).toBeInstanceOf(PayloadError);
          expect([pilot, source].some((t) => t === '' || /[\\\n\r\0]/.test(t)) || /[\\\n\r\0]/.test(cell)).toBe(true);
          return;
        }
        const parsed = parseLine(line);
        expect(parsed.measurement).toBe('link_sample');
        expect(parsed.tags).toEqual(cell ? { cell, pilot, source } : { pilot, source });
        expect(parsed.time).toBe(1_764_300_000_000);
        expect(parsed.fields['gateway']).toBe(gateway || undefined);
        expect(parsed.fields['band']).toBe(detail || undefined);
        expect(parsed.fields['slice']).toBe(slice || undefined);
      }),
      { numRuns: 500 },
    );
  });
});

describe('LineBody', () => {
  it('leaves nothing of a reading it refuses, and the lines around it intact', () => {
    const body = new LineBody(4);
    const good = { state: { source_id: 'bus-1', ts_ms: 1_764_300_000_000, seq: 1, position: { lat: 36.1, lon: 139.2 } } };
    body.addReading(good, ctx);
    // Its tags and fields are written before a signal name that cannot be a field key is reached.
    expect(() =>
      body.addReading({ state: { source_id: 'bus-2', ts_ms: 1_764_300_000_000, seq: 2, signals: { 'bad\\key': 1 } } }, ctx),
    ).toThrow(PayloadError);
    body.addReading(good, ctx);
    expect(body.lines).toBe(2);
    const line = readingToLine(good, ctx);
    expect(body.body().toString()).toBe(`${line}\n${line}`);
  });

  it('property: holds the lines joined by newlines in UTF-8, whatever their length and characters', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary', maxLength: 600 }), { maxLength: 30 }), fc.nat(20), (details, expected) => {
        const body = new LineBody(expected);
        const ts = 1_764_300_000_000;
        for (const detail of details) body.addReading({ event: { source_id: 'bus-1', ts_ms: ts, seq: 1, type: 1, detail } }, ctx);
        // The same lines built as strings, with only the string field quoted by hand.
        const lines = details.map(
          (detail) =>
            `event,pilot=${ctx.pilot},source=bus-1 type="TAKEOVER",cause="UNSPECIFIED",severity="UNSPECIFIED"` +
            `${detail ? `,detail="${detail.replace(/["\\]/g, '\\$&')}"` : ''},seq=1i,gateway="${ctx.gateway}",recv_ms=${ctx.recvMs}i ${ts}`,
        );
        expect(body.lines).toBe(details.length);
        expect(body.body().equals(Buffer.from(lines.join('\n')))).toBe(true);
      }),
    );
  });
});
