/**
 * The headers every HTTP response carries (pen-test finding 11a): a Content-Security-Policy that
 * lets the dashboard load only what it ships (MapLibre's worker is a blob: URL; its canvas and
 * markers set inline styles; the live feed is a same-origin WebSocket, which 'self' covers in CSP
 * Level 3), no framing (clickjacking), no MIME sniffing, and no Referer (a dashboard URL may carry
 * a pilot id). `tileOrigins` are the hosts of a configured base map (docs/dashboard.md#map-tiles).
 */
import type { FastifyInstance } from 'fastify';

export function contentSecurityPolicy(tileOrigins: readonly string[] = []): string {
  const tiles = tileOrigins.map((o) => ` ${o}`).join('');
  return [
    "default-src 'self'",
    "script-src 'self'",
    "worker-src 'self' blob:",
    "child-src 'self' blob:",
    `img-src 'self' data: blob:${tiles}`,
    "style-src 'self' 'unsafe-inline'",
    "font-src 'self' data:",
    `connect-src 'self'${tiles}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** Adds the security headers to every response of `app`, errors and 404s included. */
export function addSecurityHeaders(app: FastifyInstance, tileOrigins: readonly string[] = []): void {
  const headers = {
    'content-security-policy': contentSecurityPolicy(tileOrigins),
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
  };
  app.addHook('onSend', async (_req, reply, payload) => {
    reply.headers(headers);
    return payload;
  });
}
