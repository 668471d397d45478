/**
 * The WebSocket live feed (docs/api.md, "The live feed"): live-route.ts (the routes and their checks),
 * connection-limit.ts (connections per token), live-feed.ts (connections, pushToOperators),
 * live-client.ts (per-client throttle), delay-history.ts (the viewer delay), messages.ts (what is
 * sent).
 */
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../api/context.js';
import { LiveFeed, type LiveFeedOptions } from './live-feed.js';
import { registerLiveRoute } from './live-route.js';

export { LiveFeed, type LiveFeedOptions } from './live-feed.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The live feed served by this instance (registerLiveFeed). */
    liveFeed: LiveFeed;
  }
}

/** The live feed and its route on `app` (after the API's hooks), also as `app.liveFeed`; the feed closes with the server. */
export function registerLiveFeed(app: FastifyInstance, ctx: ApiContext, opts: LiveFeedOptions = {}): LiveFeed {
  const feed = new LiveFeed(ctx, opts);
  app.decorate('liveFeed', feed);
  registerLiveRoute(app, ctx, feed, opts);
  return feed;
}
