/**
 * What every /api/v1 route shares: the error body, bilingual names, positions and the {pilot}
 * path parameter. Schemas with an `id` become named schemas of the OpenAPI document
 * (components.schemas) and $defs of a route's JSON Schema.
 */
import { z } from 'zod';

/** `{error: {code, message}}`: every refusal and failure of the API (docs/errors.md lists the codes). */
export const ErrorBodySchema = z
  .object({
    error: z.object({
      code: z
        .string()
        .regex(/^MICHI_ERR_/)
        .meta({ description: 'A stable MICHI_ERR_* code (docs/errors.md).' }),
      message: z.string().meta({ description: 'What went wrong and what to do about it, for a person.' }),
    }),
  })
  .meta({ id: 'Error' });
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

export const BilingualSchema = z.object({ ja: z.string(), en: z.string() }).meta({ id: 'Bilingual' });
export type Bilingual = z.infer<typeof BilingualSchema>;

/** A GeoJSON position [longitude, latitude], WGS 84. */
export const LonLatSchema = z.tuple([z.number(), z.number()]).meta({ description: '[longitude, latitude], WGS 84 (GeoJSON order).' });
export type LonLat = z.infer<typeof LonLatSchema>;

export const PilotPathSchema = z.object({ pilot: z.string().meta({ description: 'Pilot id, e.g. maebashi-l4-bus.' }) });

/** AutonomyMode without its prefix, as the API sends it. */
export const AUTONOMY_MODES = ['AUTONOMOUS', 'MANUAL', 'REMOTE_ASSIST', 'REMOTE_DRIVING', 'MINIMAL_RISK', 'UNSPECIFIED'] as const;
export type AutonomyMode = (typeof AUTONOMY_MODES)[number];

export const ROLES = ['operator', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

/** ms since the epoch. */
export const epochMsSchema = z.int().meta({ description: 'ms since the epoch' });
