#!/usr/bin/env node
/**
 * michi-sim: simulates a pilot's fleet against edge brokers. Wires the parts (arguments, seeds,
 * publisher, progress, signals) and maps the outcome to an exit code; the work is in run-fleet.ts.
 */
import { loadSeeds, SeedError, type Pilot } from '@michi/proto';
import { pino } from 'pino';
import { checkTriggers } from './alarm-triggers.js';
import { fleetOptions, parseCliArgs, resolveDeviceKeys, USAGE, type CliOptions } from './cli-args.js';
import { recordCommand, replayCommand, scaleCommand } from './cli-commands.js';
import { McapRecorder } from './mcap-file.js';
import { scalePilot } from './scale-pilot.js';
import { SimulatorError, UsageError } from './errors.js';
import { formatSummary, progressWriter } from './progress-report.js';
import { GrpcPublisher } from './publisher-grpc.js';
import { MqttPublisher, type ReadingPublisher } from './publisher-mqtt.js';
import { gatewayUrls, runFleet, sourcesByGateway } from './run-fleet.js';

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

function findPilot(opts: CliOptions): Pilot {
  const pilots = loadSeeds(opts.seedsDir);
  const pilot = pilots.find((p) => p.id === opts.pilotId);
  if (!pilot) {
    const known = pilots.map((p) => p.id).join(', ') || '(none)';
    throw new UsageError(`--pilot: expected one of the pilots in ${opts.seedsDir}: ${known}; got "${opts.pilotId}"`);
  }
  if (pilot.vehicles.length === 0) throw new UsageError(`--pilot: pilot "${pilot.id}" has no vehicles to simulate`);
  for (const gw of Object.keys(opts.gatewayUrls)) {
    if (!pilot.gateways.some((g) => g.id === gw)) {
      throw new UsageError(
        `--gateway-url: pilot "${pilot.id}" has no gateway "${gw}"; its gateways are ${pilot.gateways.map((g) => g.id).join(', ')}`,
      );
    }
  }
  return pilot;
}

async function main(argv: readonly string[]): Promise<number> {
  const print = (s: string): void => console.log(s);
  const sub = argv[0];
  if (sub === 'record' || sub === 'replay' || sub === 'scale') {
    // Subcommands log warnings and errors only, to stderr; their output is one line on stdout.
    const logger = pino({ name: 'michi-sim', level: 'warn' }, pino.destination(2));
    const rest = argv.slice(1);
    if (sub === 'record') return recordCommand(rest, logger, print);
    if (sub === 'replay') return replayCommand(rest, logger, print);
    return scaleCommand(rest, print);
  }
  const opts = parseCliArgs(argv);
  if (opts.help) {
    console.log(USAGE);
    return EXIT_OK;
  }
  let pilot = findPilot(opts);
  if (opts.vehicles !== undefined) pilot = scalePilot(pilot, opts.vehicles);
  // Before connecting: a trigger on a vehicle the pilot does not have is a usage error, not a failed run.
  checkTriggers(pilot, opts.triggers);
  const logger = pino({ name: 'michi-sim', level: opts.logLevel }, pino.destination(2));
  const urls = Object.fromEntries(pilot.gateways.map((g) => [g.id, opts.gatewayUrls[g.id] ?? opts.mqttUrl]));
  const gatewayIds = [...new Set([...pilot.vehicles.map((v) => v.gatewayId), ...pilot.sensors.map((s) => s.gatewayId)])];
  const deviceKeys = resolveDeviceKeys(opts.deviceKeyEnv, gatewayIds, process.env);
  const grpcAll = opts.grpc['*'];
  const publisher: ReadingPublisher =
    Object.keys(opts.grpc).length > 0
      ? await GrpcPublisher.open({
          gatewayAddrs: new Map(
            gatewayIds.map((gw) => {
              const addr = opts.grpc[gw] ?? grpcAll;
              if (addr === undefined)
                throw new UsageError(`--gateway-grpc: gateway "${gw}" has no gRPC address; give --grpc or --gateway-grpc ${gw}=host:port`);
              return [gw, addr];
            }),
          ),
          deviceKeys,
          logger,
        })
      : await MqttPublisher.open({
          pilotId: pilot.id,
          gatewayUrls: gatewayUrls(pilot.id, gatewayIds, urls),
          format: opts.format,
          // Without device keys: about one connection per 500 vehicles, as a pool of modems would.
          connectionsPerGateway: Math.min(16, Math.ceil(pilot.vehicles.length / gatewayIds.length / 500)),
          deviceKeys,
          sources: sourcesByGateway(pilot),
          logger,
        });

  const abort = new AbortController();
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupts++;
    if (interrupts > 1) process.exit(130); // a second Ctrl-C: do not wait for acknowledgements
    logger.info({ signal }, 'stopping; waiting for outstanding acknowledgements');
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const startTsMs = opts.startTsMs ?? Date.now();
  const recorder = opts.record
    ? await McapRecorder.create(opts.record, {
        pilot: pilot.id,
        source: 'michi-sim',
        seed: String(opts.seed),
        start_ts_ms: String(startTsMs),
      })
    : undefined;
  const progress = progressWriter(process.stdout);
  const started = performance.now();
  // The share done, when the run has a known end: simulated time (duration) or readings (count).
  const expectedS = opts.durationS !== undefined ? opts.durationS / opts.speedup : undefined;
  const fraction = (elapsedMs: number, sent: number): number | undefined =>
    opts.count !== undefined
      ? sent / opts.count
      : expectedS !== undefined && Number.isFinite(expectedS)
        ? elapsedMs / 1000 / expectedS
        : undefined;
  const timer = setInterval(() => {
    const elapsedMs = performance.now() - started;
    const stats = publisher.stats();
    progress.update({ ...stats, elapsedMs, fraction: fraction(elapsedMs, stats.sent) });
  }, 1_000);
  try {
    const result = await runFleet({
      pilot,
      publisher,
      rateHz: opts.rateHz,
      phases: opts.phases,
      durationS: opts.durationS,
      count: opts.count,
      speedup: opts.speedup,
      seed: opts.seed,
      format: opts.format,
      kinds: opts.kinds,
      startTsMs,
      fleet: fleetOptions(opts),
      faults: opts.faults,
      // One connection per gateway carries the whole fleet: give it the window the vehicles' own
      // connections would have together (2 s of readings), within MQTT's 16-bit packet ids.
      maxInFlight: opts.maxInFlight ?? Math.min(60_000, Math.max(1_000, Math.ceil(2 * pilot.vehicles.length * opts.rateHz))),
      ...(recorder ? { onReading: (r: Parameters<McapRecorder['add']>[0]) => recorder.add(r) } : {}),
      signal: abort.signal,
      logger,
    });
    progress.finish();
    await recorder?.close();
    console.log(formatSummary(result));
    return result.failed === 0 ? EXIT_OK : EXIT_FAILED;
  } finally {
    clearInterval(timer);
    await publisher.close();
  }
}

// `npx michi-sim --help` is taken by npm itself; `npx michi-sim -- --help` reaches here with the `--`.
const argv = process.argv.slice(2);
if (argv[0] === '--') argv.shift();

// Failure until main settles: if every connection is refused and nothing is left to wait for, Node
// ends the process with the event loop empty, which exited 0 with nothing sent or printed.
let settled = false;
process.exitCode = EXIT_FAILED;
process.on('exit', () => {
  if (!settled)
    console.error(
      'michi-sim: stopped before finishing: nothing more could be sent or acknowledged (see the warnings above: refused logins?)',
    );
});

main(argv).then(
  (code) => {
    settled = true;
    process.exitCode = code;
  },
  (err: unknown) => {
    settled = true;
    if (err instanceof UsageError) {
      console.error(`michi-sim: ${err.message}\nRun michi-sim --help for the options.`);
      process.exitCode = EXIT_USAGE;
    } else if (err instanceof SimulatorError || err instanceof SeedError) {
      console.error(`michi-sim: ${err.message}`);
      process.exitCode = EXIT_FAILED;
    } else {
      console.error('michi-sim: unexpected error', err);
      process.exitCode = EXIT_FAILED;
    }
  },
);
