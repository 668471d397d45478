/**
 * Which requests are API requests, decided the way the router decided, never on the raw URL: the
 * router percent-decodes a path before matching it, so `/%61pi/v1/pilots` reaches the route
 * `/api/v1/pilots` while `req.url` does not start with `/api/v1/` (pen-test finding 4). A request
 * is judged by its route pattern and, when that is not an API route, by its path decoded and folded
 * the ways an attacker varies it (case, repeated slashes), so that probing `/API/v1/…` or
 * `//api/v1/…` without a token is refused and audited like any other API request, and with one is a 404.
 */
import type { FastifyRequest } from 'fastify';

export const API_PREFIX = '/api/v1/';

/** The path of `url` percent-decoded (as is, when it does not decode), lower-cased, with repeated slashes collapsed. */
export function normalisedPath(url: string): string {
  const raw = url.split('?')[0] ?? '';
  let path = raw;
  try {
    path = decodeURIComponent(raw);
  } catch {
    // A malformed escape: judge the raw text; the router answers such a URL 400 anyway.
  }
  return path.replace(/\/{2,}/g, '/').toLowerCase();
}

/** True when the router matched `req` to a route under /api/v1/. */
export function hasApiRoute(req: FastifyRequest): boolean {
  return req.routeOptions.url?.startsWith(API_PREFIX) ?? false;
}

/**
 * True when `req` is for the API: its route is under /api/v1/, or its path looks like it is. The
 * second half matters with a built dashboard too, whose static files are a catch-all route that
 * would otherwise take `//api/v1/…` or `/API/v1/…` as a file name.
 */
export function isApiRequest(req: FastifyRequest): boolean {
  return hasApiRoute(req) || normalisedPath(req.url).startsWith('/api/');
}
