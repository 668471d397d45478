#!/usr/bin/env node
/**
 * michi-edge: the gateway agent. `node edge/dist/main.js --config edge.yaml` (or MICHI_EDGE_CONFIG);
 * `michi-edge device-password ...` prints device passwords (device-password-command.ts).
 * Wires configuration, the agent and signals; the logic lives in edge-agent.ts.
 */
import { parseArgs } from 'node:util';
import { ConfigError, SeedError } from '@michi/proto';
import { EDGE_CONFIG_ENV, loadEdgeConfig } from './config.js';
import { startEdge } from './edge-agent.js';
import { devicePasswordCommand } from './device-password-command.js';

const USAGE = `usage: michi-edge [--config FILE]
       michi-edge device-password --key-env NAME DEVICE_ID...   (michi-edge device-password --help)

  --config, -c FILE   YAML configuration (default: $${EDGE_CONFIG_ENV}, else defaults and MICHI_EDGE_* variables)
  --help, -h          this text

See edge/edge.example.yaml for every setting.`;

async function main(): Promise<number> {
  if (process.argv[2] === 'device-password') {
    const result = devicePasswordCommand(process.argv.slice(3), process.env);
    process.stdout.write(result.stdout);
    process.stderr.write(result.stderr);
    return result.code;
  }
  let args;
  try {
    args = parseArgs({ options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } }, strict: true }).values;
  } catch (err) {
    console.error(`michi-edge: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }

  let edge;
  try {
    const config = loadEdgeConfig(args.config ?? process.env[EDGE_CONFIG_ENV], process.env);
    edge = await startEdge(config);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof SeedError) {
      console.error(`michi-edge: ${err.message}`);
      return 2;
    }
    throw err;
  }

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        console.error(`michi-edge: ${signal} again, exiting at once`);
        process.exit(1);
      }
      stopping = true;
      edge.close().then(
        () => resolve(0),
        (err: unknown) => {
          console.error('michi-edge: error while stopping', err);
          resolve(1);
        },
      );
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error('michi-edge: failed to start', err);
    process.exitCode = 1;
  },
);
