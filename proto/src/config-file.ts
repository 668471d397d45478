/**
 * Loads a process's configuration once at start-up: a YAML (or JSON) file, then MICHI_* environment
 * overrides, validated by the process's own closed zod schema and frozen. Every problem is reported
 * with the file, the path inside it and what was expected, so a person can fix it without the code.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from './errors.js';

export interface LoadConfigOptions {
  /** The config file, or undefined for defaults plus environment. */
  file?: string | undefined;
  /** Environment variables; only keys with this prefix are read (e.g. MICHI_EDGE_). */
  env?: Record<string, string | undefined>;
  envPrefix?: string;
}

/** `a.b.c` paths of zod issues, with array indices as [n]. */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out || '(top level)';
}

/** One line per issue: `<source>: <path>: <message>`. */
export function formatZodIssues(source: string, error: z.ZodError): string {
  return error.issues.map((i) => `${source}: ${formatIssuePath(i.path)}: ${i.message}`).join('\n');
}

/**
 * MICHI_EDGE_UPLINK__BATCH_MAX_ITEMS=500 sets uplink.batchMaxItems: `__` separates levels and
 * single underscores become camelCase. Values are parsed as JSON when they parse (numbers, booleans,
 * arrays), else kept as strings.
 */
export function envOverrides(env: Record<string, string | undefined>, prefix: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(env)) {
    if (!key.startsWith(prefix) || raw === undefined) continue;
    const path = key
      .slice(prefix.length)
      .split('__')
      .map((seg) => seg.toLowerCase().replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase()));
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // a plain string
    }
    let node = out;
    path.forEach((seg, i) => {
      if (i === path.length - 1) node[seg] = value;
      else node = (node[seg] ??= {}) as Record<string, unknown>;
    });
  }
  return out;
}

function merge(base: unknown, over: unknown): unknown {
  if (typeof base !== 'object' || base === null || Array.isArray(base)) return over;
  if (typeof over !== 'object' || over === null || Array.isArray(over)) return over;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over)) out[k] = merge(out[k], v);
  return out;
}

function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null) {
    Object.values(o).forEach(deepFreeze);
    Object.freeze(o);
  }
  return o;
}

export function loadConfig<S extends z.ZodType>(schema: S, opts: LoadConfigOptions = {}): Readonly<z.infer<S>> {
  let fromFile: unknown = {};
  const source = opts.file ?? 'configuration';
  if (opts.file) {
    let text: string;
    try {
      text = readFileSync(opts.file, 'utf8');
    } catch (err) {
      throw new ConfigError(`${opts.file}: cannot read the configuration file: ${(err as Error).message}`, { file: opts.file });
    }
    try {
      fromFile = parseYaml(text) ?? {};
    } catch (err) {
      throw new ConfigError(`${opts.file}: not valid YAML: ${(err as Error).message}`, { file: opts.file });
    }
  }
  const overrides = opts.env && opts.envPrefix ? envOverrides(opts.env, opts.envPrefix) : {};
  const result = schema.safeParse(merge(fromFile, overrides));
  if (!result.success) {
    throw new ConfigError(`invalid configuration\n${formatZodIssues(source, result.error)}`, { file: opts.file });
  }
  return deepFreeze(result.data);
}
