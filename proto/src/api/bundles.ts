/**
 * POST /api/v1/pilots/{pilot}/incident-bundles (docs/incident-bundles.md): one vehicle, one window,
 * answered with one tar archive. POST, not GET: the request produces a document (with its own
 * generation time and an audit line naming the vehicle and window), and its parameters stay out of
 * the URLs that proxies and access logs keep; `curl -d … -o bundle.tar` downloads it all the same.
 */
import { z } from 'zod';
import { MAX_EPOCH_MS } from './query-params.js';

/** The longest window, in minutes (the cloud's MAX_BUNDLE_WINDOW_MS). */
export const MAX_BUNDLE_WINDOW_MIN = 60;

const epochMs = (description: string) =>
  z
    .int({ error: 'expected ms since the epoch (an integer)' })
    .min(0, 'expected ms since the epoch (a non-negative integer)')
    .max(MAX_EPOCH_MS, `expected ms since the epoch, at most ${MAX_EPOCH_MS}`)
    .meta({ description });

export const IncidentBundleBodySchema = z
  .object({
    vehicle: z
      .string({ error: 'expected a vehicle id' })
      .regex(/^[A-Za-z0-9_-]{1,64}$/, 'expected a vehicle id')
      .meta({ description: 'Vehicle id (a vehicle of the pilot).' }),
    from: epochMs('Start of the window, source time, ms since the epoch (inclusive).'),
    to: epochMs(`End of the window, source time, ms since the epoch (inclusive); at most ${MAX_BUNDLE_WINDOW_MIN} min after from.`),
  })
  .strict()
  .meta({ id: 'IncidentBundleRequest' });
export type IncidentBundleBody = z.infer<typeof IncidentBundleBodySchema>;

/** The archive's media type. */
export const INCIDENT_BUNDLE_CONTENT_TYPE = 'application/x-tar';
