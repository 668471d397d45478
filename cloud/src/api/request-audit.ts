/** The audit line of an API request (audit-log.ts): who, which route, which pilot, how it ended. */
import type { FastifyRequest } from 'fastify';
import { redactUrl, type AuditEntry } from '../audit-log.js';

function pilotOf(req: FastifyRequest): string | null {
  const params = req.params as Record<string, unknown> | undefined;
  return typeof params?.['pilot'] === 'string' ? params['pilot'] : null;
}

/** The entry of a request answered with `status` after `ms`; a route's `auditView` names its url and pilot, its `auditAction` what it was asked to do. */
export function auditEntry(req: FastifyRequest, status: number, ms: number): AuditEntry {
  const view = req.routeOptions.config?.auditView?.(req) ?? { url: redactUrl(req.url), pilot: pilotOf(req) };
  return {
    token: req.principal?.id ?? null,
    role: req.principal?.role ?? null,
    method: req.method,
    route: req.routeOptions.url ?? '(no route)',
    url: view.url,
    pilot: view.pilot,
    status,
    reqId: String(req.id),
    ms,
    ...req.routeOptions.config?.auditAction?.(req),
  };
}
