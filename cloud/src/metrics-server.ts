/**
 * The cloud's Prometheus endpoint on a listener of its own (`metrics.host`, default 127.0.0.1:9460),
 * apart from the API port: the metrics name every pilot and gateway with their last-seen times and
 * need no token, so they must not be reachable wherever the API is (pen-test finding 8). Serves
 * GET /metrics, and GET /health when the service reports one (the ingest worker, which has no
 * API); anything else is 404.
 */
import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import type { CloudMetrics } from './metrics.js';

/** A service's health as /health answers it: 200 when `ok`, else 503, with the report as JSON. */
export interface HealthReport {
  ok: boolean;
  [detail: string]: unknown;
}

export interface MetricsServer {
  readonly port: number;
  /** http://host:port/metrics */
  readonly url: string;
  close(): Promise<void>;
}

export async function startMetricsServer(
  opts: { host: string; port: number },
  metrics: CloudMetrics,
  logger: Logger,
  health?: () => HealthReport,
): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && path === '/health' && health) {
      const report = health();
      res.writeHead(report.ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(report));
      return;
    }
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: try GET /metrics${health ? ' or GET /health' : ''}\n`);
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      (err: unknown) => {
        logger.error({ err }, 'could not collect the metrics');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('could not collect the metrics\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    port,
    url: `http://${host}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
