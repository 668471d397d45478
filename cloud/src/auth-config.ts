/**
 * The `auth` block of the cloud configuration: API bearer tokens by role and pilot, where each
 * token's secret is found (an environment variable, never the file), and the audit log file.
 * Cross-checks that need the pilots or the environment (unknown pilot ids, a missing variable, no
 * token at all) happen at start-up in auth.ts, where both are known.
 */
import { z } from 'zod';

export const ROLES = ['operator', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

const TokenSchema = z.strictObject({
  /** Names the token in the audit log and in GET /me; never the secret. */
  id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'expected a token id of 1 to 64 letters, digits, "_", "." or "-"'),
  role: z.enum(ROLES, { error: 'expected "operator" or "viewer"' }),
  /** ["*"] for every pilot, or the ids of the pilots this token may read. */
  pilots: z
    .array(z.string().regex(/^(\*|[A-Za-z0-9_-]{1,64})$/, 'expected a pilot id or "*"'))
    .min(1, 'expected ["*"] or at least one pilot id')
    .refine((p) => !p.includes('*') || p.length === 1, 'expected either ["*"] alone or a list of pilot ids'),
  /** The environment variable holding the token's secret. */
  tokenEnv: z.string().regex(/^[A-Z][A-Z0-9_]{0,127}$/, 'expected the name of an environment variable, e.g. MICHI_API_TOKEN_OPS'),
});

export const AuthSchema = z
  .strictObject({
    tokens: z.array(TokenSchema).default([]),
    /** Without a token, a request is a viewer of every pilot (privacy filters apply). For a public kiosk only. */
    allowAnonymousViewer: z.boolean().default(false),
    /** Also append the audit log (one JSON line per API request) to this file. */
    auditFile: z.string().min(1).optional(),
  })
  .refine((a) => new Set(a.tokens.map((t) => t.id)).size === a.tokens.length, {
    message: 'expected every token id to be different: the audit log names tokens by id',
    path: ['tokens'],
  });

export type AuthSettings = z.infer<typeof AuthSchema>;
export type TokenSettings = AuthSettings['tokens'][number];
