import { describe, expect, it } from 'vitest';
import { ConfigError } from '@michi/proto';
import { secretResolver } from '../config.js';
import { ALARM_CHANGE_KINDS } from './alarm-change.js';
import { AlarmWebhooksSchema, resolveWebhooks } from './webhook-config.js';

const minimal = { id: 'ops', url: 'https://hooks.example.jp/michi', secretEnv: 'MICHI_WEBHOOK_SECRET_OPS' };

function issues(input: unknown): string[] {
  const r = AlarmWebhooksSchema.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('alarms.webhooks', () => {
  it('has a default for everything but id, url and secretEnv', () => {
    expect(AlarmWebhooksSchema.parse(undefined)).toEqual([]);
    expect(AlarmWebhooksSchema.parse([minimal])).toEqual([
      {
        ...minimal,
        pilots: ['*'],
        minSeverity: 'warning',
        kinds: [...ALARM_CHANGE_KINDS],
        timeoutMs: 10_000,
        initialBackoffMs: 1_000,
        maxBackoffMs: 60_000,
      },
    ]);
  });

  it('refuses what cannot work, saying what was expected', () => {
    expect(issues([{ ...minimal, url: 'ftp://hooks.example.jp/' }])).toEqual(['0.url: expected an http:// or https:// URL']);
    expect(issues([{ ...minimal, pilots: ['*', 'town-a'] }])).toEqual(['0.pilots: expected either ["*"] alone or a list of pilot ids']);
    expect(issues([{ ...minimal, secret: 'inline' }])).toHaveLength(1);
    expect(issues([{ ...minimal, secretEnv: 'lower-case' }])[0]).toMatch(/^0.secretEnv: expected the name of an environment variable/);
    expect(issues([{ ...minimal, kinds: ['opened'] }])[0]).toMatch(/^0.kinds.0: expected one of raised, updated/);
    expect(issues([{ ...minimal, initialBackoffMs: 5_000, maxBackoffMs: 1_000 }])).toEqual([
      '0.initialBackoffMs: expected initialBackoffMs to be at most maxBackoffMs',
    ]);
    expect(issues([minimal, { ...minimal, url: 'http://127.0.0.1:9000/' }])).toEqual([
      ': expected every webhook id to be different: delivery ids and the outbox are keyed by it',
    ]);
  });

  it('resolves each secret from the environment once, and never shows it', () => {
    const [w] = resolveWebhooks(AlarmWebhooksSchema.parse([minimal]), secretResolver({ MICHI_WEBHOOK_SECRET_OPS: 's3cret-value' }));
    expect(w!.secret).toBe('s3cret-value');
    expect(JSON.stringify(w)).not.toContain('s3cret-value');
    expect(Object.isFrozen(w)).toBe(true);
  });

  it('fails at start-up naming the webhook and the variable when a secret is not set', () => {
    const parsed = AlarmWebhooksSchema.parse([minimal]);
    expect(() => resolveWebhooks(parsed, secretResolver({}))).toThrow(ConfigError);
    expect(() => resolveWebhooks(parsed, secretResolver({ MICHI_WEBHOOK_SECRET_OPS: '' }))).toThrow(
      'alarms.webhooks[0] (ops): secretEnv names MICHI_WEBHOOK_SECRET_OPS, but that environment variable is not set',
    );
  });
});
