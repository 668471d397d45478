/**
 * The `alarms.webhooks` list of the cloud configuration: where alarm changes are POSTed, which of
 * them each receiver wants, and the environment variable holding its signing secret (never the
 * secret itself, so the file can be committed and printed). `resolveWebhooks` looks the secrets up
 * once at start-up, through the configuration's own resolver, and fails naming the missing variable.
 */
import { z } from 'zod';
import { ConfigError } from '@michi/proto';
import type { SecretResolver } from '../config.js';
import { ALARM_CHANGE_KINDS, ALARM_SEVERITIES, type AlarmChangeKind, type AlarmSeverity } from './alarm-change.js';

const WebhookSchema = z
  .strictObject({
    /** Names the webhook in logs, metrics and the `x-michi-delivery` header; never change it while rows are pending. */
    id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'expected a webhook id of 1 to 64 letters, digits, "_", "." or "-"'),
    url: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }),
    /** The environment variable holding the HMAC-SHA256 secret (`x-michi-signature`). */
    secretEnv: z.string().regex(/^[A-Z][A-Z0-9_]{0,127}$/, 'expected the name of an environment variable, e.g. MICHI_WEBHOOK_SECRET_OPS'),
    /** ["*"] for every pilot, or the ids of the pilots whose alarms this receiver gets. */
    pilots: z
      .array(z.string().regex(/^(\*|[A-Za-z0-9_-]{1,64})$/, 'expected a pilot id or "*"'))
      .min(1, 'expected ["*"] or at least one pilot id')
      .refine((p) => !p.includes('*') || p.length === 1, 'expected either ["*"] alone or a list of pilot ids')
      .default(['*']),
    /** The least severe alarm sent: "warning" sends warning and critical ones. */
    minSeverity: z.enum(ALARM_SEVERITIES, { error: 'expected "critical", "warning" or "info"' }).default('warning'),
    kinds: z
      .array(z.enum(ALARM_CHANGE_KINDS, { error: `expected one of ${ALARM_CHANGE_KINDS.join(', ')}` }))
      .min(1, 'expected at least one kind of change; remove the webhook to send none')
      .default([...ALARM_CHANGE_KINDS]),
    /** One POST, from connecting to the end of the response headers; longer counts as a failure and is retried. */
    timeoutMs: z.int().min(100).max(120_000).default(10_000),
    /** The first retry waits about this long; each further one twice as long, up to maxBackoffMs. */
    initialBackoffMs: z.int().min(1).max(3_600_000).default(1_000),
    maxBackoffMs: z.int().min(1).max(3_600_000).default(60_000),
  })
  .refine((w) => w.initialBackoffMs <= w.maxBackoffMs, {
    message: 'expected initialBackoffMs to be at most maxBackoffMs',
    path: ['initialBackoffMs'],
  });

export const AlarmWebhooksSchema = z
  .array(WebhookSchema)
  .default([])
  .refine((list) => new Set(list.map((w) => w.id)).size === list.length, {
    message: 'expected every webhook id to be different: delivery ids and the outbox are keyed by it',
  });

export type WebhookSettings = z.infer<typeof WebhookSchema>;

/** A configured webhook with its secret looked up; `secret` is not enumerable, so logging the object never shows it. */
export type ResolvedWebhook = Readonly<WebhookSettings> & { readonly secret: string };

/** Looks up each webhook's secret; throws ConfigError naming the webhook and the variable when one is not set. */
export function resolveWebhooks(parsed: readonly WebhookSettings[], resolveSecret: SecretResolver): ResolvedWebhook[] {
  return parsed.map((w, i) => {
    const secret = resolveSecret(`env:${w.secretEnv}`);
    if (secret === undefined) {
      throw new ConfigError(`alarms.webhooks[${i}] (${w.id}): secretEnv names ${w.secretEnv}, but that environment variable is not set`, {
        variable: w.secretEnv,
      });
    }
    return Object.freeze(Object.defineProperty({ ...w }, 'secret', { value: secret, enumerable: false })) as ResolvedWebhook;
  });
}

const SEVERITY_RANK: Record<AlarmSeverity, number> = { info: 0, warning: 1, critical: 2 };

/** Whether `webhook` wants a change of this kind to an alarm of this pilot and severity. */
export function webhookWants(
  webhook: Pick<WebhookSettings, 'pilots' | 'minSeverity' | 'kinds'>,
  change: { kind: AlarmChangeKind; alarm: { pilot: string; severity: AlarmSeverity } },
): boolean {
  return (
    (webhook.pilots[0] === '*' || webhook.pilots.includes(change.alarm.pilot)) &&
    SEVERITY_RANK[change.alarm.severity] >= SEVERITY_RANK[webhook.minSeverity] &&
    webhook.kinds.includes(change.kind)
  );
}
