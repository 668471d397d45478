import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { envOverrides, loadConfig } from './config-file.js';
import { ConfigError } from './errors.js';

const Schema = z
  .object({
    port: z.number().int().min(0).max(65535).default(1884),
    uplink: z
      .object({ url: z.string().url().default('mqtt://127.0.0.1:1883'), batchMaxItems: z.number().int().positive().default(500) })
      .strict()
      .default({ url: 'mqtt://127.0.0.1:1883', batchMaxItems: 500 }),
  })
  .strict();

function file(text: string): string {
  const f = join(mkdtempSync(join(tmpdir(), 'michi-config-')), 'edge.yaml');
  writeFileSync(f, text);
  return f;
}

describe('loadConfig', () => {
  it('applies defaults, then the file, then environment overrides, and freezes the result', () => {
    const cfg = loadConfig(Schema, {
      file: file('port: 2000\n'),
      env: { MICHI_EDGE_UPLINK__BATCH_MAX_ITEMS: '50', OTHER: 'x' },
      envPrefix: 'MICHI_EDGE_',
    });
    expect(cfg).toEqual({ port: 2000, uplink: { url: 'mqtt://127.0.0.1:1883', batchMaxItems: 50 } });
    expect(Object.isFrozen(cfg.uplink)).toBe(true);
  });

  it('names the file, the path inside it and what was expected', () => {
    const f = file('port: 70000\nuplink:\n  batchMaxItems: -1\n  extra: 1\n');
    expect(() => loadConfig(Schema, { file: f })).toThrow(ConfigError);
    try {
      loadConfig(Schema, { file: f });
    } catch (err) {
      const msg = (err as Error).message;
      expect(msg).toContain(`${f}: port:`);
      expect(msg).toMatch(/uplink\.batchMaxItems: .*>0/);
      expect(msg).toMatch(/uplink: .*extra/);
    }
  });

  it('reports unreadable files and broken YAML with the file name', () => {
    expect(() => loadConfig(Schema, { file: '/nonexistent/edge.yaml' })).toThrow(/\/nonexistent\/edge.yaml: cannot read/);
    const f = file('port: [1,\n');
    expect(() => loadConfig(Schema, { file: f })).toThrow(new RegExp(`${f}: not valid YAML`));
  });

  it('maps MICHI_ names to camelCase paths and parses JSON values', () => {
    expect(envOverrides({ MICHI_X_A__B_C: 'true', MICHI_X_D: 'text' }, 'MICHI_X_')).toEqual({ a: { bC: true }, d: 'text' });
  });
});
