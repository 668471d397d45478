import { describe, expect, it } from 'vitest';
import { TRIGGER_KINDS } from './alarm-triggers.js';
import { parseCliArgs, resolveDeviceKeys } from './cli-args.js';
import { SimErrorCodes } from './errors.js';
import { formatProgress, formatSummary, progressWriter } from './progress-report.js';

describe('parseCliArgs', () => {
  it('fills in the defaults', () => {
    expect(parseCliArgs(['--pilot', 'maebashi-l4-bus'])).toEqual({
      help: false,
      pilotId: 'maebashi-l4-bus',
      seedsDir: 'seeds',
      mqttUrl: 'mqtt://127.0.0.1:1884',
      gatewayUrls: {},
      rateHz: 1,
      phases: 1,
      durationS: undefined,
      count: undefined,
      speedup: 1,
      seed: 42,
      format: 'protobuf',
      kinds: ['state', 'link', 'event', 'sensor'],
      logLevel: 'warn',
      vehicles: undefined,
      startTsMs: undefined,
      autonomy: {},
      clockDrift: true,
      deadZones: [],
      faults: {},
      record: undefined,
      grpc: {},
      deviceKeyEnv: {},
      maxInFlight: undefined,
      triggers: [],
      quiet: undefined,
    });
  });

  it('reads --device-key-env for every gateway or one, and resolves the keys from the environment', () => {
    const o = parseCliArgs(['--pilot', 'p', '--device-key-env', 'ALL_KEY', '--device-key-env', 'gw-b=B_KEY']);
    expect(o.deviceKeyEnv).toEqual({ '*': 'ALL_KEY', 'gw-b': 'B_KEY' });
    const key = (c: string) => c.repeat(32);
    expect(resolveDeviceKeys(o.deviceKeyEnv, ['gw-a', 'gw-b'], { ALL_KEY: key('a'), B_KEY: key('b') })).toEqual(
      new Map([
        ['gw-a', key('a')],
        ['gw-b', key('b')],
      ]),
    );
    expect(resolveDeviceKeys({ 'gw-b': 'B_KEY' }, ['gw-a', 'gw-b'], { B_KEY: key('b') })).toEqual(new Map([['gw-b', key('b')]]));
    expect(() => resolveDeviceKeys(o.deviceKeyEnv, ['gw-a'], {})).toThrow(/ALL_KEY \(the device key of gateway "gw-a"\) is not set/);
    expect(() => resolveDeviceKeys(o.deviceKeyEnv, ['gw-a'], { ALL_KEY: 'short' })).toThrow(/at least 32 characters/);
  });

  it('reads every option', () => {
    const o = parseCliArgs([
      '--pilot=p1',
      '--seeds',
      '/tmp/seeds',
      '--mqtt',
      'mqtt://10.0.0.5:1884',
      '--gateway-url',
      'gw-a=mqtt://127.0.0.1:2001',
      '--gateway-url',
      'gw-b=mqtts://edge-b:8883',
      '--rate',
      '2.5',
      '--duration',
      '60',
      '--count',
      '100',
      '--speedup',
      'max',
      '--seed',
      '7',
      '--format',
      'json',
      '--kinds',
      'state, link',
      '--log-level',
      'info',
    ]);
    expect(o).toMatchObject({
      pilotId: 'p1',
      seedsDir: '/tmp/seeds',
      mqttUrl: 'mqtt://10.0.0.5:1884',
      gatewayUrls: { 'gw-a': 'mqtt://127.0.0.1:2001', 'gw-b': 'mqtts://edge-b:8883' },
      rateHz: 2.5,
      durationS: 60,
      count: 100,
      speedup: Infinity,
      seed: 7,
      format: 'json',
      kinds: ['state', 'link'],
      logLevel: 'info',
    });
  });

  it('reads --trigger in each of its forms, with --trigger-duration as the default length, and --quiet', () => {
    const o = parseCliArgs([
      '--pilot',
      'p',
      '--trigger',
      'takeover@30:bus-02',
      '--trigger=silent@60.5+20',
      '--trigger',
      'low-battery@0+90:robot_1.a',
      '--trigger-duration',
      '45',
      '--quiet',
      '2',
    ]);
    expect(o.triggers).toEqual([
      { kind: 'takeover', atS: 30, durationS: 45, vehicleId: 'bus-02' },
      { kind: 'silent', atS: 60.5, durationS: 20 },
      { kind: 'low-battery', atS: 0, durationS: 90, vehicleId: 'robot_1.a' },
    ]);
    expect(o.quiet).toEqual({ perH: 2, durationS: 20 });
    expect(parseCliArgs(['--pilot', 'p', '--trigger', 'speeding@5']).triggers).toEqual([{ kind: 'speeding', atS: 5, durationS: 30 }]);
    expect(parseCliArgs(['--pilot', 'p', '--quiet', '6', '--quiet-s', '12.5']).quiet).toEqual({ perH: 6, durationS: 12.5 });
    // Every kind the help lists parses.
    for (const what of TRIGGER_KINDS) expect(parseCliArgs(['--pilot', 'p', '--trigger', `${what}@1`]).triggers[0]!.kind).toBe(what);
  });

  it('needs no pilot for --help', () => {
    expect(parseCliArgs(['-h']).help).toBe(true);
  });

  it.each([
    [[], '--pilot: expected the id of the pilot to simulate'],
    [['--pilot', 'p', '--rate', 'fast'], '--rate: expected a number > 0, got "fast"'],
    [['--pilot', 'p', '--rate', '0'], '--rate: expected a number > 0, got "0"'],
    [['--pilot', 'p', '--count', '2.5'], '--count: expected a whole number ≥ 1, got "2.5"'],
    [['--pilot', 'p', '--count', '0'], '--count: expected a whole number ≥ 1, got "0"'],
    [['--pilot', 'p', '--duration=-3'], '--duration: expected a number > 0, got "-3"'],
    [['--pilot', 'p', '--speedup', 'fast'], '--speedup: expected a number > 0, got "fast"'],
    [['--pilot', 'p', '--seed', 'abc'], '--seed: expected a whole number ≥ 0, got "abc"'],
    [['--pilot', 'p', '--format', 'xml'], '--format: expected protobuf or json, got "xml"'],
    [['--pilot', 'p', '--kinds', 'state,video'], '--kinds: expected state, link, event, sensor, got "video"'],
    [['--pilot', 'p', '--duplicates', '2'], '--duplicates: expected a probability from 0 to 1, got "2"'],
    [['--pilot', 'p', '--dead-zone', '139,36'], '--dead-zone: expected <lon>,<lat>,<radius m>'],
    [['--pilot', 'p', '--grpc', 'localhost'], '--grpc: expected host:port'],
    [['--pilot', 'p', '--takeovers=-1'], '--takeovers: expected a number ≥ 0, got "-1"'],
    [['--pilot', 'p', '--mqtt', 'localhost:1884'], '--mqtt: expected a URL starting with mqtt://'],
    [['--pilot', 'p', '--mqtt', 'http://localhost'], '--mqtt: expected a URL starting with mqtt://'],
    [['--pilot', 'p', '--gateway-url', 'mqtt://x:1'], '--gateway-url: expected <gateway-id>=<url>'],
    [['--pilot', 'p', '--device-key-env', 'lower'], '--device-key-env: expected the name of an environment variable'],
    [['--pilot', 'p', '--device-key-env', 'A', '--device-key-env', 'B'], '--device-key-env: every gateway given twice'],
    [['--pilot', 'p', '--gateway-url', 'a=mqtt://x:1', '--gateway-url', 'a=mqtt://y:1'], '--gateway-url: gateway "a" given twice'],
    [['--pilot', 'p', '--log-level', 'loud'], '--log-level: expected one of fatal'],
    [
      ['--pilot', 'p', '--trigger', 'takeover'],
      '--trigger: expected <what>@<seconds>[+<duration s>][:<vehicle id>], e.g. takeover@30:bus-02',
    ],
    [['--pilot', 'p', '--trigger', 'explode@10'], '--trigger explode@10: expected one of minimal-risk, emergency-stop, takeover'],
    [
      ['--pilot', 'p', '--trigger', 'silent@soon'],
      '--trigger silent@soon: expected the simulated second it starts (a number ≥ 0) after the @, got "soon"',
    ],
    [['--pilot', 'p', '--trigger', 'silent@-5'], 'expected the simulated second it starts (a number ≥ 0)'],
    [
      ['--pilot', 'p', '--trigger', 'silent@10+0'],
      '--trigger silent@10+0: expected its duration in seconds (a number > 0) after the +, got "0"',
    ],
    [['--pilot', 'p', '--trigger', 'silent@10+:bus-01'], 'expected its duration in seconds (a number > 0) after the +, got ""'],
    [['--pilot', 'p', '--trigger', 'takeover@10:'], '--trigger takeover@10:: expected a vehicle id after the :, got ""'],
    [['--pilot', 'p', '--trigger', 'takeover@10', '--trigger-duration', '0'], '--trigger-duration: expected a number > 0, got "0"'],
    [
      ['--pilot', 'p', '--duration', '60', '--trigger', 'takeover@60'],
      '--trigger takeover@60: starts at 60 s, after the end of the run (--duration 60)',
    ],
    [['--pilot', 'p', '--quiet', 'often'], '--quiet: expected a number ≥ 0, got "often"'],
    [['--pilot', 'p', '--quiet-s', '10'], '--quiet-s: goes with --quiet <per h>'],
    [['--pilot', 'p', '--quiet', '1', '--quiet-s', '0'], '--quiet-s: expected a number > 0, got "0"'],
    [['--pilot', 'p', '--rat', '1'], "Unknown option '--rat'"],
    [['--pilot', 'p', 'extra'], 'extra'],
  ])('rejects %j with a message saying what was expected', (argv, message) => {
    expect(() => parseCliArgs(argv)).toThrow(
      expect.objectContaining({ code: SimErrorCodes.USAGE, message: expect.stringContaining(message) }),
    );
  });
});

describe('progress report', () => {
  const stats = { sent: 120, acked: 118, rejected: 0, failed: 2, failedByReason: { unacked_at_end: 2 }, elapsedMs: 12_000 };

  it('formats one line of progress and a summary', () => {
    expect(formatProgress(stats)).toBe('12.0 s: sent 120, acked 118, failed 2, 9.8 acked/s');
    expect(formatSummary({ ...stats, simulatedS: 120 })).toBe(
      'done in 12.0 s (120.0 simulated s): sent 120, acked 118, rejected 0, failed 2 (unacked_at_end 2), 10.0 sent/s',
    );
    expect(formatProgress({ ...stats, fraction: 0.5 })).toBe(`[############............]  50% ${formatProgress(stats)}`);
    expect(formatSummary({ ...stats, simulatedS: 120, faults: { duplicates: 3, malformed: 1, bursts: 0 } })).toContain(
      '; injected 3 duplicates, 1 malformed, 0 bursts',
    );
  });

  it('rewrites one line on a terminal, and writes plain lines now and then elsewhere', () => {
    const chunks: string[] = [];
    const sink = (isTTY: boolean) =>
      ({ isTTY, write: (s: string) => chunks.push(s) }) as unknown as NodeJS.WritableStream & { isTTY: boolean };
    const tty = progressWriter(sink(true));
    tty.update(stats);
    tty.finish();
    expect(chunks).toEqual([`\r\x1b[2K${formatProgress(stats)}`, '\r\x1b[2K']);
    chunks.length = 0;
    const plain = progressWriter(sink(false), 5_000);
    for (const elapsedMs of [1_000, 4_000, 6_000, 9_000, 12_000]) plain.update({ ...stats, elapsedMs });
    plain.finish();
    expect(chunks.map((c) => c.split(':')[0])).toEqual(['6.0 s', '12.0 s']);
    expect(chunks.every((c) => c.endsWith('\n') && !c.includes('\r'))).toBe(true);
  });
});
