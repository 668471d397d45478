// A private InfluxDB 1.x (Debian's influxd) per test: free ports, a tmp data dir, the v1 HTTP API.
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePorts } from './ports.js';
import { ScratchServer, ServerProcess } from './server-process.js';

export interface StartInfluxDbOptions {
  /** Created once InfluxDB answers; default "michi". */
  database?: string;
  /** Default /usr/bin/influxd (Debian's influxdb package, installed by scripts/setup.sh). */
  binary?: string;
  /** How long to wait for /ping; default 30 s. */
  timeoutMs?: number;
  /**
   * `auth-enabled = true`, with this admin user created first (InfluxDB lets anyone create the
   * first admin); the handle's query/write helpers then authenticate as it.
   */
  admin?: { username: string; password: string };
}

/** One statement's result from /query (InfluxDB 1.x JSON). */
export interface InfluxResult {
  statement_id: number;
  series?: { name: string; tags?: Record<string, string>; columns: string[]; values: unknown[][] }[];
  messages?: { level: string; text: string }[];
  error?: string;
}

export interface InfluxQueryOptions {
  /** Default: the handle's database. */
  database?: string;
  /** Timestamps as numbers in this unit instead of RFC 3339 strings. */
  epoch?: 'ns' | 'u' | 'ms' | 's' | 'm' | 'h';
}

export interface InfluxWriteOptions {
  database?: string;
  /** Default "ms". */
  precision?: 'ns' | 'u' | 'ms' | 's' | 'm' | 'h';
}

export interface InfluxHandle {
  /** http://127.0.0.1:PORT, the v1 API root (/ping, /write, /query). */
  readonly url: string;
  readonly port: number;
  readonly database: string;
  /** PID of the current influxd; changes on restart(). */
  readonly pid: number;
  /** Holds the config and the meta, data and wal dirs; removed by stop(). */
  readonly dir: string;
  /**
   * Runs InfluxQL (POST /query) and returns the `results` array (one InfluxResult per statement);
   * throws if any statement failed. `any` so that tests can dig into it without a guard per level.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  query(influxql: string, opts?: InfluxQueryOptions): Promise<any>;
  /** Runs one SELECT and returns its rows as objects keyed by column (tags included), all series concatenated. */
  rows(influxql: string, opts?: InfluxQueryOptions): Promise<Record<string, unknown>[]>;
  /** POST /write with line protocol; throws unless InfluxDB answers 204. */
  write(lines: string | readonly string[], opts?: InfluxWriteOptions): Promise<void>;
  /** SIGSTOP: InfluxDB keeps its port open but answers nothing, like a hung server. */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  /** Stops influxd and starts it again on the same port with the same data. */
  restart(): Promise<void>;
  /** SIGTERM, SIGKILL after 5 s, then removes the tmp dir. Safe to call twice. */
  stop(): Promise<void>;
  /** The last lines influxd logged. */
  logs(): string;
}

/** The settings `make run` uses too: scripts/influxdb.conf.in, filled in. */
export function influxConfig(dir: string, httpPort: number, rpcPort: number, authEnabled = false): string {
  return readFileSync(new URL('../influxdb.conf.in', import.meta.url), 'utf8')
    .replaceAll('@DATA_DIR@', dir)
    .replaceAll('@HTTP_PORT@', String(httpPort))
    .replaceAll('@RPC_PORT@', String(rpcPort))
    .replaceAll('@AUTH_ENABLED@', String(authEnabled));
}

export async function startInfluxDb(opts: StartInfluxDbOptions = {}): Promise<InfluxHandle> {
  const database = opts.database ?? 'michi';
  const binary = opts.binary ?? '/usr/bin/influxd';
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const [port, rpcPort] = (await freePorts(2)) as [number, number];
  const dir = await mkdtemp(path.join(os.tmpdir(), 'michi-influxdb-'));
  const configPath = path.join(dir, 'influxdb.conf');
  await writeFile(configPath, influxConfig(dir, port, rpcPort, opts.admin !== undefined));
  const url = `http://127.0.0.1:${port}`;
  const headers: Record<string, string> = opts.admin
    ? { authorization: `Basic ${Buffer.from(`${opts.admin.username}:${opts.admin.password}`).toString('base64')}` }
    : {};

  const ping = async (): Promise<void> => {
    const res = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(1_000) });
    if (res.status !== 204) throw new Error(`/ping answered ${res.status}`);
  };

  const launch = async (): Promise<ServerProcess> => {
    const server = new ServerProcess({
      name: 'influxd',
      command: binary,
      args: ['-config', configPath],
      marker: configPath,
      tmpDir: dir,
    });
    await server.waitReady(ping, `influxd /ping on ${url}`, timeoutMs);
    return server;
  };

  const query = async (influxql: string, q: InfluxQueryOptions = {}): Promise<InfluxResult[]> => {
    const body = new URLSearchParams({ q: influxql, db: q.database ?? database });
    if (q.epoch) body.set('epoch', q.epoch);
    const res = await fetch(`${url}/query`, { method: 'POST', body, headers });
    const text = await res.text();
    let json: { results?: InfluxResult[]; error?: string };
    try {
      json = JSON.parse(text) as typeof json;
    } catch {
      throw new Error(`InfluxDB /query answered ${res.status}: ${text.slice(0, 500)}`);
    }
    if (!res.ok || json.error) throw new Error(`InfluxDB /query ${res.status}: ${json.error ?? text.slice(0, 500)}`);
    const results = json.results ?? [];
    const failed = results.find((r) => r.error);
    if (failed) throw new Error(`InfluxQL error in statement ${failed.statement_id}: ${failed.error}`);
    return results;
  };

  const write = async (lines: string | readonly string[], w: InfluxWriteOptions = {}): Promise<void> => {
    const params = new URLSearchParams({ db: w.database ?? database, precision: w.precision ?? 'ms' });
    const body = typeof lines === 'string' ? lines : lines.join('\n');
    const res = await fetch(`${url}/write?${params}`, { method: 'POST', body, headers });
    if (res.status !== 204) throw new Error(`InfluxDB /write answered ${res.status}: ${(await res.text()).slice(0, 500)}`);
  };

  const rows = async (influxql: string, q: InfluxQueryOptions = {}): Promise<Record<string, unknown>[]> => {
    const [result] = await query(influxql, q);
    return (result?.series ?? []).flatMap((series) =>
      series.values.map((values) => ({
        ...series.tags,
        ...Object.fromEntries(series.columns.map((column, i) => [column, values[i]])),
      })),
    );
  };

  const scratch = await ScratchServer.start(dir, async () => {
    const server = await launch();
    if (opts.admin) {
      // No Authorization yet: with no users, InfluxDB takes only this statement, unauthenticated.
      const body = new URLSearchParams({
        q: `CREATE USER "${opts.admin.username}" WITH PASSWORD '${opts.admin.password}' WITH ALL PRIVILEGES`,
      });
      const res = await fetch(`${url}/query`, { method: 'POST', body });
      if (!res.ok) throw new Error(`InfluxDB refused to create the admin user: ${res.status} ${await res.text()}`);
    }
    await query(`CREATE DATABASE "${database.replace(/["\\]/g, '\\$&')}"`);
    return server;
  });

  return {
    url,
    port,
    database,
    dir,
    get pid() {
      return scratch.server.pid;
    },
    query,
    rows,
    write,
    pause: () => scratch.server.pause(),
    resume: () => scratch.server.resume(),
    async restart() {
      if (scratch.stopped) throw new Error('InfluxDB was stopped; start a new one');
      await scratch.server.stop(5_000);
      scratch.server = await launch();
    },
    stop: () => scratch.stop(),
    logs: () => scratch.server.outputTail(),
  };
}
