// A michi-ingest-worker run as its own process, as an operator runs it (worker-main.ts with a YAML
// file), for the scale-out tests that kill workers with SIGKILL and start them again.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { freePort, waitFor } from '../../scripts/test-support/index.js';
import { metric } from './support.js';

const WORKER_MAIN = fileURLToPath(new URL('../src/worker-main.ts', import.meta.url));

export interface WorkerProcess {
  readonly child: ChildProcess;
  /** http://127.0.0.1:PORT of its /metrics and /health. */
  readonly metricsUrl: string;
  output(): string;
  /** michi_cloud_batches_accepted_total{transport="worker"}. */
  accepted(): Promise<number>;
  /** Sends `signal` and resolves once the process has exited. */
  stop(signal: NodeJS.Signals): Promise<void>;
}

/**
 * Writes DIR/{name}.yaml from `settings` (its `worker.metrics.port` chosen here), starts the
 * worker with `env` added to this process's, and resolves once its /health answers 200.
 */
export async function startWorkerProcess(
  dir: string,
  name: string,
  settings: { worker: Record<string, unknown> } & Record<string, unknown>,
  env: Record<string, string>,
): Promise<WorkerProcess> {
  const metricsPort = await freePort();
  const config = join(dir, `${name}.yaml`);
  writeFileSync(config, stringify({ ...settings, worker: { ...settings.worker, metrics: { port: metricsPort } } }));
  const child = spawn(process.execPath, ['--conditions=michi-src', '--import', 'tsx', WORKER_MAIN, '--config', config], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-20_000)));
  child.stderr!.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-20_000)));
  const metricsUrl = `http://127.0.0.1:${metricsPort}`;
  const worker: WorkerProcess = {
    child,
    metricsUrl,
    output: () => output,
    accepted: () => metric(`${metricsUrl}/metrics`, 'michi_cloud_batches_accepted_total', { transport: 'worker' }),
    async stop(signal) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill(signal);
      await exited;
    },
  };
  await waitFor(async () => (await fetch(`${metricsUrl}/health`).catch(() => undefined))?.ok || undefined, {
    what: `worker ${name} healthy`,
    timeoutMs: 30_000,
  }).catch(async (err: unknown) => {
    await worker.stop('SIGKILL');
    throw new Error(`${(err as Error).message}\n--- worker ${name} output (tail) ---\n${output.slice(-3_000)}`, { cause: err });
  });
  return worker;
}
