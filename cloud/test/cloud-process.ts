// The michi-cloud command as an operator runs it, from the sources (tsx): the service as a child
// process to kill, and one-shot commands (verify-records, export-records) with their exit code.
import { execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { startInfluxDb, waitFor, type InfluxHandle } from '../../scripts/test-support/index.js';
import { SECRET_ENV, TEST_AUTH } from './support.js';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const NODE_ARGS = ['--conditions=michi-src', '--import', 'tsx', MAIN];

/** `michi-cloud --config FILE` as a child process, `env` added; its ports from the start-up log line (log.level info). */
export function startCloudProcess(configFile: string, env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [...NODE_ARGS, '--config', configFile], {
    env: { ...process.env, ...SECRET_ENV, ...env },
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
  /** Its API's http://host:port. */
  const url = () =>
    waitFor(() => /"url":"(http:\/\/[^"]+)"/.exec(out)?.[1], {
      timeoutMs: 30_000,
      what: 'the start-up log line',
    });
  return { child, exited, mqttPort, url, out: () => out };
}

export type CloudProcess = ReturnType<typeof startCloudProcess>;

/**
 * For a test file of cloud processes: an InfluxDB started before its tests, and start() for
 * processes that are killed (SIGKILL, if still running) after them, before that InfluxDB stops.
 */
export function cloudProcessHarness() {
  let influx: InfluxHandle | undefined;
  const children: CloudProcess[] = [];
  beforeAll(async () => {
    influx = await startInfluxDb();
  });
  afterAll(async () => {
    for (const c of children) c.child.kill('SIGKILL');
    await influx?.stop();
  });
  return {
    influxUrl: (): string => influx!.url,
    start(configFile: string, env: Record<string, string> = {}): CloudProcess {
      const p = startCloudProcess(configFile, env);
      children.push(p);
      return p;
    },
  };
}

/**
 * Writes DIR/cloud.yaml for startCloudProcess: every listener on a free port, log.level info (the
 * start-up line mqttPort() reads), the tests' tokens; `more` adds top-level YAML (alarms:, records:).
 */
export function writeCloudConfig(dir: string, opts: { seedsDir: string; influxUrl: string; more?: string }): string {
  const file = join(dir, 'cloud.yaml');
  writeFileSync(
    file,
    `seedsDir: ${opts.seedsDir}\nmqtt:\n  port: 0\nhttp:\n  port: 0\nmetrics:\n  port: 0\ninflux:\n  url: ${opts.influxUrl}\n` +
      `${opts.more ?? ''}log:\n  level: info\nauth: ${JSON.stringify(TEST_AUTH)}\n`,
  );
  return file;
}

/** Runs `michi-cloud <args>` to its end; resolves with its exit code and output. */
export function michiCloud(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...NODE_ARGS, ...args], { env: { ...process.env, ...SECRET_ENV } }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}
