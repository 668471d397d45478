import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bodyToJson,
  checkBatch,
  decodeBatch,
  decodeReading,
  decodeReadingPayload,
  decodeReadingPayloadEncoded,
  encodeBatch,
  encodeReading,
  encodeReadingPayload,
  makeReading,
  PASSTHROUGH_MAX_BYTES,
  readingKind,
  readingToJson,
  v1,
} from './codec.js';
import { ErrorCodes, PayloadError } from './errors.js';

const TS = 1_764_300_000_123;

const state = {
  source_id: 'bus-01',
  ts_ms: TS,
  seq: 42,
  position: { lat: 36.3895, lon: 139.0634, alt_m: 110.5, accuracy_m: 0.5 },
  speed_mps: 8.25,
  heading_deg: 271.5,
  accel_mps2: -0.5,
  mode: v1.AutonomyMode.AUTONOMY_MODE_AUTONOMOUS,
  odometer_m: 123_456.5,
  battery_pct: 87.5,
  signals: { 'Vehicle.Cabin.Door.Row1.IsOpen': 0, 'Vehicle.Powertrain.TractionBattery.StateOfCharge.Current': 87.5 },
};

const link = {
  source_id: 'bus-01',
  ts_ms: TS,
  seq: 43,
  cell_id: '440-10-0001a2b3c',
  pci: 101,
  band: 'n79',
  rsrp_dbm: -92.5,
  rsrq_db: -11,
  sinr_db: 14.5,
  rtt_ms: 12.5,
  ul_mbps: 35.5,
  dl_mbps: 210,
  slice: 'URLLC',
  handover: true,
  position: { lat: 36.39, lon: 139.06 },
};

const event = {
  source_id: 'bus-01',
  ts_ms: TS,
  seq: 44,
  type: v1.EventType.EVENT_TYPE_TAKEOVER,
  cause: v1.EventCause.EVENT_CAUSE_PARKED_VEHICLE,
  severity: v1.Severity.SEVERITY_WARNING,
  position: { lat: 36.39, lon: 139.06 },
  detail: '路上駐車車両を回避',
  duration_ms: 8_000,
};

const sensor = {
  source_id: 'lidar-n',
  ts_ms: TS,
  seq: 1,
  sensor_kind: v1.SensorKind.SENSOR_KIND_LIDAR,
  counts: { pedestrians: 3, vehicles: 12 },
  measures: { queue_length_m: 35.5 },
};

const bodies = { state, link, sensor, event } as const;

describe('reading payloads', () => {
  for (const [kind, body] of Object.entries(bodies) as [keyof typeof bodies, (typeof bodies)[keyof typeof bodies]][]) {
    it(`round-trips a ${kind} through protobuf and JSON with equal values`, () => {
      const viaProto = decodeReadingPayload(kind, encodeReadingPayload(kind, body));
      const viaJson = decodeReadingPayload(kind, encodeReadingPayload(kind, body, 'json'));
      expect(readingKind(viaProto)).toBe(kind);
      expect(bodyToJson(kind, viaProto[kind]!)).toEqual(bodyToJson(kind, body));
      expect(bodyToJson(kind, viaJson[kind]!)).toEqual(bodyToJson(kind, body));
      // 64-bit fields are plain numbers, not Long objects
      expect(viaProto[kind]!.ts_ms).toBe(TS);
    });
  }

  it('gives the Reading encoding of a payload that decodes to the same reading, wrapping a small protobuf body as it came', () => {
    const long = { ...event, detail: 'x'.repeat(300) }; // a length of two varint bytes
    const cases: [keyof typeof bodies, object][] = [...(Object.entries(bodies) as [keyof typeof bodies, object][]), ['event', long]];
    for (const [kind, body] of cases) {
      for (const format of ['protobuf', 'json'] as const) {
        const payload = encodeReadingPayload(kind, body, format);
        const { reading, encoded } = decodeReadingPayloadEncoded(kind, payload);
        expect(readingToJson(decodeReading(encoded)), `${kind} ${format}`).toEqual(readingToJson(reading));
        expect(readingToJson(reading)).toEqual(readingToJson(decodeReadingPayload(kind, payload)));
        if (format === 'protobuf') expect(Buffer.from(encoded).subarray(-payload.byteLength)).toEqual(Buffer.from(payload));
      }
    }
    // A body larger than the bound is encoded from the decoded message: unknown fields (here field
    // 99, a string) do not travel with it; a small one keeps them, and still decodes the same.
    const unknown = (n: number) => Buffer.concat([Buffer.from([0x9a, 0x06, n]), Buffer.alloc(n, 0x41)]);
    const small = Buffer.concat([encodeReadingPayload('link', link), unknown(100)]);
    const smallOut = decodeReadingPayloadEncoded('link', small);
    expect(smallOut.encoded.byteLength).toBe(small.byteLength + 3);
    expect(readingToJson(decodeReading(smallOut.encoded))).toEqual(readingToJson(smallOut.reading));
    const big = Buffer.concat([encodeReadingPayload('link', link), unknown(120), ...Array.from({ length: 8 }, () => unknown(120))]);
    expect(big.byteLength).toBeGreaterThan(PASSTHROUGH_MAX_BYTES);
    const bigOut = decodeReadingPayloadEncoded('link', big);
    expect(Buffer.from(bigOut.encoded)).toEqual(Buffer.from(encodeReading(bigOut.reading)));
    expect(bigOut.encoded.byteLength).toBeLessThan(200);
    // Invalid payloads are refused as by decodeReadingPayload.
    expect(() => decodeReadingPayloadEncoded('state', encodeReadingPayload('state', { ...state, speed_mps: -1 }))).toThrow(PayloadError);
  });

  it('keeps presence: an optional measurement not sent is absent, a sent 0 is 0, over protobuf and JSON (issue 11)', () => {
    const sent = { source_id: 'bus-1', ts_ms: TS, seq: 1, rtt_ms: 0, sinr_db: 12 };
    for (const format of ['protobuf', 'json'] as const) {
      const link = decodeReadingPayload('link', encodeReadingPayload('link', sent, format)).link!;
      expect(link.rtt_ms).toBe(0);
      expect(link.sinr_db).toBe(12);
      for (const f of ['rsrq_db', 'ul_mbps', 'dl_mbps', 'rsrp_dbm', 'pci'] as const) {
        expect(Object.hasOwn(link, f), `${format} ${f}`).toBe(false);
        expect(link[f]).toBeNull();
      }
      expect(bodyToJson('link', link)).toEqual({ source_id: 'bus-1', ts_ms: String(TS), seq: '1', rtt_ms: 0, sinr_db: 12 });
    }
    // JSON null and a missing key are the same: absent.
    const json = Buffer.from(JSON.stringify({ source_id: 'bus-1', ts_ms: TS, battery_pct: null }));
    expect(Object.hasOwn(decodeReadingPayload('state', json).state!, 'battery_pct')).toBe(false);
    const zero = Buffer.from(JSON.stringify({ source_id: 'bus-1', ts_ms: TS, battery_pct: 0 }));
    expect(decodeReadingPayload('state', zero).state!.battery_pct).toBe(0);
  });

  it('keeps snake_case fields when encoding (the keepCase trap)', () => {
    const decoded = v1.VehicleState.decode(encodeReadingPayload('state', state));
    expect(decoded.source_id).toBe('bus-01');
    expect(decoded.speed_mps).toBeCloseTo(8.25);
  });

  it('accepts what a person types with mosquitto_pub: camelCase names, enum names, numbers as strings', () => {
    const json = JSON.stringify({
      sourceId: 'bus-01',
      tsMs: String(TS),
      seq: 7,
      speedMps: 3.5,
      mode: 'AUTONOMY_MODE_MANUAL',
      position: { lat: 36.1, lon: 139.2 },
    });
    const r = decodeReadingPayload('state', Buffer.from(json));
    expect(r.state).toMatchObject({ source_id: 'bus-01', ts_ms: TS, seq: 7, mode: v1.AutonomyMode.AUTONOMY_MODE_MANUAL });
  });

  it.each([
    ['{"source_id":"bus-01","ts_ms":1764300000123,"sped_mps":3}', /sped_mps: unknown field/],
    ['{"source_id":"bus-01","ts_ms":1764300000123,"speed_mps":"fast"}', /speed_mps: expected a number/],
    ['{"source_id":"bus-01","ts_ms":1764300000123,"mode":"FLYING"}', /mode: expected one of AUTONOMY_MODE_UNSPECIFIED/],
    ['{"source_id":"bus-01","ts_ms":1764300000123,"position":{"lat":95,"lon":139}}', /position.lat: expected a number from -90 to 90/],
    ['{"source_id":"bus 01","ts_ms":1764300000123}', /source_id: expected 1-64 characters/],
    ['{"source_id":"bus-01"}', /ts_ms: expected the source timestamp/],
    ['{"source_id":"bus-01","ts_ms":17643000}', /ts_ms: expected an integer from/],
    ['{"source_id":"bus-01","ts_ms":1764300000123,"seq":1.5}', /seq: expected an integer/],
    ['{"source_id":"bus-01","ts_ms":1764300000123', /not valid JSON/],
  ])('rejects %s with the path and what was expected', (json, message) => {
    expect(() => decodeReadingPayload('state', Buffer.from(json))).toThrow(message);
  });

  it('rejects NaN and out-of-range values that protobuf can carry', () => {
    const bytes = v1.VehicleState.encode({ source_id: 'bus-01', ts_ms: TS, speed_mps: Number.NaN }).finish();
    expect(() => decodeReadingPayload('state', bytes)).toThrow(/speed_mps/);
    const link = v1.LinkSample.encode({ source_id: 'bus-01', ts_ms: TS, pci: 5000 }).finish();
    expect(() => decodeReadingPayload('link', link)).toThrow(/pci: expected an integer from 0 to 1007/);
    const ev = v1.Event.encode({ source_id: 'bus-01', ts_ms: TS }).finish();
    expect(() => decodeReadingPayload('event', ev)).toThrow(/type: expected one of EVENT_TYPE_TAKEOVER/);
  });

  it('refuses oversized payloads before decoding them', () => {
    const err = (() => {
      try {
        decodeReadingPayload('state', new Uint8Array(2048), 1024);
      } catch (e) {
        return e as PayloadError;
      }
    })();
    expect(err?.code).toBe(ErrorCodes.TOO_LARGE);
  });

  it('gives a typed error or a valid reading for any bytes, never a crash', () => {
    fc.assert(
      fc.property(fc.constantFrom('state', 'link', 'sensor', 'event' as const), fc.uint8Array({ maxLength: 300 }), (kind, bytes) => {
        try {
          const r = decodeReadingPayload(kind, bytes);
          expect(readingKind(r)).toBe(kind);
        } catch (err) {
          expect(err).toBeInstanceOf(PayloadError);
          expect([ErrorCodes.DECODE, ErrorCodes.INVALID_READING, ErrorCodes.TOO_LARGE]).toContain((err as PayloadError).code);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('gives a typed error or a valid reading for any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        try {
          decodeReadingPayload(
            'state',
            Buffer.from(
              JSON.stringify({
                source_id: 'a',
                ts_ms: TS,
                ...(typeof value === 'object' && value && !Array.isArray(value) ? value : { signals: value }),
              }),
            ),
          );
        } catch (err) {
          expect(err).toBeInstanceOf(PayloadError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('decodes mutated valid payloads to a typed error or a valid reading', () => {
    const good = encodeReadingPayload('state', state);
    fc.assert(
      fc.property(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 }), (i, b) => {
        const bytes = Uint8Array.from(good);
        bytes[i] = b;
        try {
          decodeReadingPayload('state', bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(PayloadError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('Reading and Batch', () => {
  it('round-trips a Reading with its oneof kind', () => {
    const r = decodeReading(encodeReading(makeReading('event', event)));
    expect(readingKind(r)).toBe('event');
    expect(r.event?.detail).toBe('路上駐車車両を回避');
  });

  it('rejects a Reading that holds no body', () => {
    expect(() => decodeReading(encodeReading({}))).toThrow(/expected exactly one of state, link, sensor, event/);
  });

  it('accepts a batch and lists its invalid items by index, with the reason', () => {
    const items = [makeReading('state', state), { state: { source_id: 'bus-01', ts_ms: TS, speed_mps: -3 } }, makeReading('link', link)];
    const decoded = decodeBatch(encodeBatch({ pilot_id: 'p1', gateway_id: 'gw-1', first_seq: 100, items, sent_ts_ms: TS }));
    expect(decoded.valid).toEqual([0, 2]);
    expect(decoded.rejected).toEqual([
      {
        index: 1,
        code: ErrorCodes.INVALID_READING,
        reason: expect.stringMatching(/^items\[1\]\.state\.speed_mps: expected a number from 0 to 100/),
      },
    ]);
    expect(decoded.batch.first_seq).toBe(100);
  });

  it('refuses a batch whose header is wrong', () => {
    expect(() => checkBatch(v1.Batch.create({ pilot_id: 'p1', gateway_id: '../x', first_seq: 1 }))).toThrow(
      /gateway_id: expected a gateway id/,
    );
    expect(() => decodeBatch(new Uint8Array([0xff, 0xff, 0xff]))).toThrow(PayloadError);
  });

  it('gives a typed error or a checked batch for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        try {
          const d = decodeBatch(bytes);
          expect(d.valid.length + d.rejected.length).toBe(d.batch.items.length);
        } catch (err) {
          expect(err).toBeInstanceOf(PayloadError);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
