/**
 * The HTTP transport to InfluxDB's v1 API (/ping, /write, /query), shared by InfluxWriter and
 * InfluxQuery. node:http with a keep-alive agent rather than fetch: a /write every few ms is the
 * hot path, and reusing sockets without undici's per-request overhead is measurably cheaper.
 * Credentials travel in a Basic Authorization header, never in the URL, so they cannot reach a log.
 */
import http from 'node:http';
import https from 'node:https';

export interface InfluxEndpoint {
  url: string;
  database: string;
  username?: string | undefined;
  password?: string | undefined;
  timeoutMs: number;
}

export interface InfluxResponse {
  status: number;
  body: string;
}

/** The request did not get an answer: refused, reset, or timed out. */
class InfluxUnreachableError extends Error {
  override readonly name = 'InfluxUnreachableError';
}

/** No (complete) answer within the request's deadline; the request was aborted (its socket destroyed). */
export class InfluxTimeoutError extends Error {
  override readonly name = 'InfluxTimeoutError';
  readonly timeoutMs: number;
  constructor(timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

export class InfluxHttp {
  readonly endpoint: Readonly<InfluxEndpoint>;
  private readonly base: URL;
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;
  private readonly auth: string | undefined;

  constructor(endpoint: InfluxEndpoint) {
    this.endpoint = Object.freeze({ ...endpoint });
    this.base = new URL(endpoint.url.endsWith('/') ? endpoint.url : `${endpoint.url}/`);
    this.transport = this.base.protocol === 'https:' ? https : http;
    this.agent = new this.transport.Agent({ keepAlive: true, maxSockets: 16 });
    this.auth =
      endpoint.username !== undefined
        ? `Basic ${Buffer.from(`${endpoint.username}:${endpoint.password ?? ''}`).toString('base64')}`
        : undefined;
  }

  /** `path` is relative to the configured URL (which may carry a prefix behind a proxy). */
  request(
    method: 'GET' | 'POST',
    path: string,
    params: Record<string, string>,
    body?: string | Buffer | readonly Buffer[],
    timeoutMs = this.endpoint.timeoutMs,
  ): Promise<InfluxResponse> {
    const url = new URL(path, this.base);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    const headers: http.OutgoingHttpHeaders = {};
    if (this.auth) headers['authorization'] = this.auth;
    if (body !== undefined) {
      headers['content-type'] = 'text/plain; charset=utf-8';
      headers['content-length'] = typeof body === 'string' || Buffer.isBuffer(body) ? Buffer.byteLength(body) : byteLength(body);
    }
    return new Promise((resolve, reject) => {
      const req = this.transport.request(url, { method, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', (err) => {
          clearTimeout(timer);
          reject(new InfluxUnreachableError(`InfluxDB ${method} ${url.pathname}: ${err.message}`, { cause: err }));
        });
      });
      // A paused (SIGSTOPped) InfluxDB accepts the connection and never answers: only a deadline ends that.
      const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(new InfluxUnreachableError(`InfluxDB ${method} ${url.pathname}: ${err.message}`, { cause: err }));
      });
      if (body === undefined || typeof body === 'string' || Buffer.isBuffer(body)) req.end(body);
      else {
        // Chunks rather than one concatenated copy: they leave in one writev while the request is corked.
        req.cork();
        for (const chunk of body) req.write(chunk);
        req.end();
      }
    });
  }

  /**
   * GET whose answer is read line by line as it arrives (InfluxDB's `chunked=true` query answers are
   * one JSON object a line), so that no more than one line is held at once. `onLine` may throw: the
   * request is then aborted (InfluxDB stops the query when its client goes) and the promise rejects
   * with that error. Past `timeoutMs` it is aborted too and rejects with InfluxTimeoutError.
   * Resolves with the HTTP status once the answer has ended.
   */
  streamLines(
    path: string,
    params: Record<string, string>,
    onLine: (line: string, status: number) => void,
    timeoutMs: number,
  ): Promise<number> {
    const url = new URL(path, this.base);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    const headers: http.OutgoingHttpHeaders = {};
    if (this.auth) headers['authorization'] = this.auth;
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (err: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.destroy();
        reject(err);
      };
      const req = this.transport.request(url, { method: 'GET', headers, agent: this.agent }, (res) => {
        const status = res.statusCode ?? 0;
        let pending = '';
        res.setEncoding('utf8');
        res.on('data', (text: string) => {
          if (settled) return;
          pending += text;
          let nl: number;
          try {
            while ((nl = pending.indexOf('\n')) >= 0) {
              const line = pending.slice(0, nl);
              pending = pending.slice(nl + 1);
              if (line.trim() !== '') onLine(line, status);
            }
          } catch (err) {
            fail(err as Error);
          }
        });
        res.on('end', () => {
          if (settled) return;
          try {
            if (pending.trim() !== '') onLine(pending, status);
          } catch (err) {
            fail(err as Error);
            return;
          }
          settled = true;
          clearTimeout(timer);
          resolve(status);
        });
        res.on('error', (err) => fail(new InfluxUnreachableError(`InfluxDB GET ${url.pathname}: ${err.message}`, { cause: err })));
      });
      // A paused (SIGSTOPped) InfluxDB accepts the connection and never answers: only a deadline ends that.
      const timer = setTimeout(() => fail(new InfluxTimeoutError(timeoutMs)), timeoutMs);
      req.on('error', (err) => fail(new InfluxUnreachableError(`InfluxDB GET ${url.pathname}: ${err.message}`, { cause: err })));
      req.end();
    });
  }

  /** Resolves when /ping answers 204 within `timeoutMs`; throws otherwise. */
  async ping(timeoutMs = Math.min(this.endpoint.timeoutMs, 2_000)): Promise<void> {
    const res = await this.request('GET', 'ping', {}, undefined, timeoutMs);
    if (res.status !== 204) throw new InfluxUnreachableError(`InfluxDB /ping answered ${res.status}`);
  }

  close(): void {
    this.agent.destroy();
  }
}

function byteLength(chunks: readonly Buffer[]): number {
  let n = 0;
  for (const c of chunks) n += c.length;
  return n;
}

/** InfluxDB 1.x answers errors as {"error": "..."}; anything else is passed on as text. */
export function influxErrorText(body: string): string {
  try {
    const json = JSON.parse(body) as { error?: unknown };
    if (typeof json.error === 'string') return json.error;
  } catch {
    // not JSON: a proxy's page, say
  }
  return body.trim().slice(0, 2_000);
}
