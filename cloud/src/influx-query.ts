/**
 * The one module that reads InfluxDB: InfluxQL over the v1 /query API, results as rows, and the
 * quoting that keeps ids and free text from changing a query's meaning. Timestamps come back as
 * integer milliseconds (epoch=ms).
 */
import { ErrorCodes, MichiError } from '@michi/proto';
import { type InfluxHttp, influxErrorText } from './influx-http.js';

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

export class InfluxQuery {
  private readonly http: InfluxHttp;

  constructor(http: InfluxHttp) {
    this.http = http;
  }

  /** Runs InfluxQL (one or more statements); throws MichiError(STORAGE) if InfluxDB or any statement failed. */
  async statements(influxql: string): Promise<InfluxSeries[][]> {
    let res;
    try {
      res = await this.http.request('GET', 'query', { db: this.http.endpoint.database, q: influxql, epoch: 'ms' });
    } catch (cause) {
      throw new MichiError(ErrorCodes.STORAGE, `InfluxDB did not answer a query: ${(cause as Error).message}`, { status: 0 }, { cause });
    }
    let json: { results?: InfluxStatementResult[]; error?: string };
    try {
      json = JSON.parse(res.body) as typeof json;
    } catch {
      throw new MichiError(ErrorCodes.STORAGE, `InfluxDB answered a query with ${res.status} and no JSON`, {
        status: res.status,
        body: influxErrorText(res.body),
      });
    }
    if (res.status !== 200 || json.error) {
      const body = json.error ?? influxErrorText(res.body);
      throw new MichiError(ErrorCodes.STORAGE, `InfluxDB refused a query with ${res.status}: ${body}`, { status: res.status, body });
    }
    return (json.results ?? []).map((r) => {
      if (r.error) throw new MichiError(ErrorCodes.STORAGE, `InfluxQL error: ${r.error}`, { status: res.status, body: r.error });
      return r.series ?? [];
    });
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

  ping(): Promise<void> {
    return this.http.ping();
  }
}
