/**
 * The one module that reads InfluxDB: InfluxQL over the v1 /query API, results as rows, and the
 * quoting that keeps ids and free text from changing a query's meaning. Timestamps come back as
 * integer milliseconds (epoch=ms). With pilots on several InfluxDB servers (influxServers), every
 * query of a pilot's data goes through forPilot() or byServer(), which pick the server holding it.
 */
import { ErrorCodes, MichiError } from '@michi/proto';
import { type InfluxHttp, InfluxTimeoutError, influxErrorText } from './influx-http.js';

/** One series of one statement's result, as InfluxDB 1.x returns it. */
export interface InfluxSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

interface InfluxStatementResult {
  statement_id: number;
  series?: InfluxSeries[];
  error?: string;
}

/** A row: the series' tags and the columns by name; `time` is ms since the epoch. */
export type InfluxRow = Record<string, unknown> & { time: number };

function checkExpressible(s: string): void {
  // The InfluxQL scanner reads NUL as the end of input; no escape exists for it. Ids that reach a
  // query are validated (A-Z a-z 0-9 _ -), so this guards against a programming error only.
  if (s.includes('\0')) throw new RangeError('InfluxQL cannot express a string containing NUL');
}

/**
 * A double-quoted InfluxQL identifier. The InfluxQL scanner takes `\"` and `\\` as escapes and
 * refuses a raw newline inside quotes, so newlines are written as `\n`.
 */
export function quoteIdentifier(name: string): string {
  checkExpressible(name);
  return `"${name.replace(/[\\"]/g, '\\$&').replace(/\n/g, '\\n')}"`;
}

/** A single-quoted InfluxQL string literal (same escaping rules as identifiers). */
export function quoteLiteral(value: string): string {
  checkExpressible(value);
  return `'${value.replace(/[\\']/g, '\\$&').replace(/\n/g, '\\n')}'`;
}

/** The rows of one statement's series, concatenated; each row carries its series' tags and `name` as `_measurement`. */
export function rowsOf(series: readonly InfluxSeries[]): InfluxRow[] {
  return series.flatMap((s) =>
    s.values.map((values) => {
      const row: Record<string, unknown> = { ...s.tags, _measurement: s.name };
      s.columns.forEach((c, i) => {
        row[c] = values[i];
      });
      return row as InfluxRow;
    }),
  );
}

/** What one InfluxQuery may cost: the deadline of each InfluxDB request and the rows kept in memory. */
export interface QueryLimits {
  /** Per InfluxDB request; past it the request is aborted and MichiError(TIMEOUT) thrown. Default: the endpoint's timeoutMs. */
  timeoutMs?: number;
  /**
   * When (Date.now() ms) every request of this InfluxQuery must have been answered: a route that
   * makes several requests gets one deadline for all of them, not one timeout each.
   */
  deadline?: number;
  /** Rows of one InfluxDB request held at once (all its statements); beyond it MichiError(TOO_LARGE). Default: no cap. */
  maxRows?: number;
}

/** Which InfluxDB holds a pilot's data when there are several (influx-servers.ts). */
export interface PilotRouting {
  httpOf(pilot: string): InfluxHttp;
  /** Every server, the default first. */
  readonly servers: readonly { readonly name: string; readonly http: InfluxHttp }[];
}

/** Rows per line of InfluxDB's chunked answer: the most that is ever parsed at once. */
const CHUNK_ROWS = 10_000;

interface InfluxChunk {
  results?: InfluxStatementResult[];
  error?: string;
}

export class InfluxQuery {
  private readonly http: InfluxHttp;
  private readonly timeoutMs: number;
  /** What a caller aggregating rows itself (forEachRow) should keep at most too. */
  readonly maxRows: number;
  private readonly deadline: number | undefined;
  private readonly routing: PilotRouting | undefined;

  /** `http` answers what is no pilot's (the rollups' progress point) and, without `routing`, everything. */
  constructor(http: InfluxHttp, limits: QueryLimits = {}, routing?: PilotRouting) {
    this.http = http;
    this.timeoutMs = limits.timeoutMs ?? http.endpoint.timeoutMs;
    this.maxRows = limits.maxRows ?? Number.POSITIVE_INFINITY;
    this.deadline = limits.deadline;
    this.routing = routing;
  }

  /** The same limits and deadline on the InfluxDB holding `pilot`'s data. */
  forPilot(pilot: string): InfluxQuery {
    const http = this.routing?.httpOf(pilot) ?? this.http;
    if (http === this.http) return this;
    return new InfluxQuery(http, { timeoutMs: this.timeoutMs, maxRows: this.maxRows, deadline: this.deadline }, this.routing);
  }

  /** `pilots` grouped by the InfluxDB holding their data, for a query over several pilots: one per server. */
  byServer(pilots: readonly string[]): { query: InfluxQuery; pilots: string[] }[] {
    const groups = new Map<InfluxHttp, { query: InfluxQuery; pilots: string[] }>();
    for (const pilot of pilots) {
      const query = this.forPilot(pilot);
      const group = groups.get(query.http) ?? { query, pilots: [] };
      group.pilots.push(pilot);
      groups.set(query.http, group);
    }
    return [...groups.values()];
  }

  /**
   * The same InfluxDB with a deadline `timeoutMs` (at most influx.timeoutMs) from now for all its requests and at most
   * `maxRows` rows held per request (the HTTP API's history routes: api.limits).
   */
  bounded(timeoutMs: number, maxRows: number): InfluxQuery {
    // influx.timeoutMs stays the ceiling of each request, as for every other query.
    const ms = Math.min(this.timeoutMs, timeoutMs);
    return new InfluxQuery(this.http, { timeoutMs: ms, maxRows, deadline: Date.now() + ms }, this.routing);
  }

  private timeoutError(): MichiError {
    return new MichiError(ErrorCodes.TIMEOUT, `InfluxDB did not answer within ${this.timeoutMs} ms; the query was aborted`, {
      timeoutMs: this.timeoutMs,
    });
  }

  /**
   * Runs InfluxQL and hands over each series as it arrives (InfluxDB's chunked answer, at most
   * CHUNK_ROWS rows a piece; one series may come in several pieces, in order). Throws
   * MichiError(STORAGE) if InfluxDB or any statement failed, MichiError(TIMEOUT) past the deadline;
   * an error thrown by `onSeries` aborts the request and is rethrown.
   */
  async stream(influxql: string, onSeries: (statement: number, series: InfluxSeries) => void): Promise<void> {
    const params = { db: this.http.endpoint.database, q: influxql, epoch: 'ms', chunked: 'true', chunk_size: String(CHUNK_ROWS) };
    let lines = 0;
    const onLine = (line: string, status: number): void => {
      lines++;
      let json: InfluxChunk;
      try {
        json = JSON.parse(line) as InfluxChunk;
      } catch {
        throw new MichiError(ErrorCodes.STORAGE, `InfluxDB answered a query with ${status} and no JSON`, {
          status,
          body: influxErrorText(line),
        });
      }
      if (status !== 200 || json.error) {
        const body = json.error ?? influxErrorText(line);
        throw new MichiError(ErrorCodes.STORAGE, `InfluxDB refused a query with ${status}: ${body}`, { status, body });
      }
      for (const r of json.results ?? []) {
        if (r.error) throw new MichiError(ErrorCodes.STORAGE, `InfluxQL error: ${r.error}`, { status, body: r.error });
        for (const series of r.series ?? []) onSeries(r.statement_id, series);
      }
    };
    const left = this.deadline === undefined ? this.timeoutMs : Math.min(this.timeoutMs, this.deadline - Date.now());
    if (left <= 0) throw this.timeoutError();
    let status: number;
    try {
      status = await this.http.streamLines('query', params, onLine, left);
    } catch (cause) {
      if (cause instanceof MichiError) throw cause;
      if (cause instanceof InfluxTimeoutError) throw this.timeoutError();
      throw new MichiError(ErrorCodes.STORAGE, `InfluxDB did not answer a query: ${(cause as Error).message}`, { status: 0 }, { cause });
    }
    // An answer with no JSON at all (a proxy's empty 502, say) is no empty result.
    if (lines === 0) throw new MichiError(ErrorCodes.STORAGE, `InfluxDB answered a query with ${status} and no JSON`, { status, body: '' });
  }

  /** Runs InfluxQL (one or more statements); the series of each statement. Errors as stream(); beyond maxRows rows MichiError(TOO_LARGE). */
  async statements(influxql: string): Promise<InfluxSeries[][]> {
    const results: InfluxSeries[][] = [];
    let rows = 0;
    await this.stream(influxql, (statement, series) => {
      rows += series.values.length;
      if (rows > this.maxRows) {
        throw new MichiError(ErrorCodes.TOO_LARGE, `the query would read more than ${this.maxRows} rows`, { maxRows: this.maxRows });
      }
      (results[statement] ??= []).push(series);
    });
    // A statement with no series still has its place (callers index by statement).
    return Array.from(results, (r) => r ?? []);
  }

  /** Runs one statement and returns its rows, all series concatenated, tags merged into each row. */
  async rows(influxql: string): Promise<InfluxRow[]> {
    const [series = []] = await this.statements(influxql);
    return rowsOf(series);
  }

  /** Runs several statements in one request; the rows of each, in order. */
  async rowsOfEach(statements: readonly string[]): Promise<InfluxRow[][]> {
    const results = await this.statements(statements.join(';\n'));
    return statements.map((_, i) => rowsOf(results[i] ?? []));
  }

  /** Runs one statement and hands over each row as it arrives, holding no more than a chunk: no row cap applies. */
  async forEachRow(influxql: string, onRow: (row: InfluxRow) => void): Promise<void> {
    await this.stream(influxql, (_statement, series) => {
      for (const row of rowsOf([series])) onRow(row);
    });
  }

  /** Pings every InfluxDB server; the first that does not answer is named in the error. */
  async ping(): Promise<void> {
    const servers = this.routing?.servers ?? [{ name: 'default', http: this.http }];
    const failed = await Promise.all(
      servers.map((s) =>
        s.http.ping().then(
          () => null,
          (err: unknown) => ({ name: s.name, err: err as Error }),
        ),
      ),
    );
    const down = failed.filter((f) => f !== null);
    if (down.length === 0) return;
    if (servers.length === 1) throw down[0]!.err;
    throw new Error(down.map((d) => `InfluxDB server ${d.name}: ${d.err.message}`).join('; '));
  }
}
