// The michi-cloud command as an operator runs it, from the sources (tsx): the service as a child
// process to kill, and one-shot commands (verify-records, export-records) with their exit code.
import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../../scripts/test-support/index.js';
import { SECRET_ENV } from './support.js';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const NODE_ARGS = ['--conditions=michi-src', '--import', 'tsx', MAIN];

/** `michi-cloud --config FILE` as a child process; its MQTT port from the start-up log line (log.level info). */
export function startCloudProcess(configFile: string) {
  const child = spawn(process.execPath, [...NODE_ARGS, '--config', configFile], {
    env: { ...process.env, ...SECRET_ENV },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
  const mqttPort = () =>
    waitFor(() => Number(/"mqttPort":(\d+)/.exec(out)?.[1]) || undefined, {
      timeoutMs: 30_000,
      what: 'the start-up log line',
    });
  return { child, exited, mqttPort, out: () => out };
}

/** Runs `michi-cloud <args>` to its end; resolves with its exit code and output. */
export function michiCloud(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...NODE_ARGS, ...args], { env: { ...process.env, ...SECRET_ENV } }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}
