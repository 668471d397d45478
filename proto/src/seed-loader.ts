// Reads pilot definitions (seeds/*.json), validates them against PilotSchema, and reports every
// problem as `file: path: what was expected, got what`, one per line, in a SeedError.
import { readdirSync, readFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { z } from 'zod';
import { ErrorCodes, MichiError } from './errors.js';
import { PilotSchema, type Pilot } from './seed-schema.js';

export class SeedError extends MichiError {
  /** The file (or directory) at fault, relative to the working directory when inside it. */
  readonly file: string;
  /** One line per problem, each already prefixed with the file. */
  readonly issues: readonly string[];

  constructor(file: string, problems: readonly string[], options?: { cause?: unknown }) {
    const issues = problems.map((p) => `${file}: ${p}`);
    super(ErrorCodes.SEED_INVALID, issues.join('\n'), { file }, options);
    this.file = file;
    this.issues = issues;
  }
}

/** Loads and validates one pilot definition. Throws SeedError listing every problem. */
export function loadPilotFile(path: string): Pilot {
  const file = displayPath(path);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new SeedError(file, [`cannot read the file: ${(err as Error).message}`], { cause: err });
  }
  const json = parseJson(file, text);
  const result = PilotSchema.safeParse(json, { reportInput: true, error: expectedMessage });
  if (!result.success) throw new SeedError(file, result.error.issues.flatMap(describeIssue));
  return result.data;
}

/**
 * Loads every *.json in dir (sorted by name) and checks that pilot ids, and gateway ids (a gateway
 * logs in to the cloud by its id alone), are unique across files.
 */
export function loadSeeds(dir: string): Pilot[] {
  let names: string[];
  try {
    names = readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isFile() && e.name.endsWith('.json'))
      .map((e) => e.name)
      .sort();
  } catch (err) {
    throw new SeedError(displayPath(dir), [`cannot read the seeds directory: ${(err as Error).message}`], {
      cause: err,
    });
  }
  const pilots: Pilot[] = [];
  const fileOfId = new Map<string, string>();
  for (const name of names) {
    const path = join(dir, name);
    const pilot = loadPilotFile(path);
    const earlier = fileOfId.get(pilot.id);
    if (earlier !== undefined) {
      throw new SeedError(displayPath(path), [
        `id: expected a pilot id unique across the seed files, got "${pilot.id}", already used by ${earlier}`,
      ]);
    }
    fileOfId.set(pilot.id, displayPath(path));
    pilot.gateways.forEach((gw, i) => {
      const other = pilots.find((p) => p.gateways.some((g) => g.id === gw.id));
      if (other) {
        throw new SeedError(displayPath(path), [
          `gateways[${i}].id: expected a gateway id unique across the seed files, got "${gw.id}", already used by pilot ${other.id}`,
        ]);
      }
    });
    pilots.push(pilot);
  }
  return pilots;
}

// ---------------------------------------------------------------------------------------------

function displayPath(path: string): string {
  const rel = relative(process.cwd(), resolve(path));
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? path : rel;
}

function parseJson(file: string, text: string): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return JSON.parse(body) as unknown;
  } catch (err) {
    const message = (err as Error).message;
    // V8 reports a character offset ("at position 123"); people want a line and a column.
    const match = /position (\d+)/.exec(message);
    const offset = match ? Number(match[1]) : body.length;
    const { line, column } = lineAndColumn(body, offset);
    const reason = message.replace(/\s*\(line \d+ column \d+\)/, '');
    throw new SeedError(file, [`line ${line}, column ${column}: expected valid JSON (${reason})`], {
      cause: err,
    });
  }
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/** `routes[0].geometry.coordinates[3]`; `(top level)` for the document itself. */
function formatIssuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_$][\w$]*$/.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out === '' ? '(top level)' : out;
}

function preview(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value) && value.length <= 4 && value.every((v) => typeof v === 'number')) {
    return `[${value.join(', ')}]`;
  }
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  array: 'an array',
  object: 'an object',
  tuple: 'an array',
};

/**
 * Messages for the issues whose schema sets none (schema messages take precedence): all say
 * "expected ..." so that `describeIssue` can add what was found.
 */
const expectedMessage: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${TYPE_NAMES[issue.expected] ?? issue.expected}`;
    case 'too_small':
    case 'too_big': {
      const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
      const word = issue.code === 'too_small' ? (issue.inclusive ? '≥' : '>') : issue.inclusive ? '≤' : '<';
      if (issue.origin === 'array') {
        return `expected ${issue.code === 'too_small' ? 'at least' : 'at most'} ${bound} item(s)`;
      }
      if (issue.origin === 'string') {
        return `expected ${issue.code === 'too_small' ? 'at least' : 'at most'} ${bound} character(s)`;
      }
      return `expected a number ${word} ${bound}`;
    }
    case 'invalid_value':
      return `expected ${issue.values.map((v) => JSON.stringify(v)).join(' or ')}`;
    case 'invalid_format':
      return `expected a string in the ${issue.format} format`;
    default:
      return undefined;
  }
};

function describeIssue(issue: z.core.$ZodIssue): string[] {
  if (issue.code === 'unrecognized_keys') {
    // Point at each unknown key itself: that is the line a person has to delete or rename.
    return issue.keys.map(
      (key) =>
        `${formatIssuePath([...issue.path, key])}: unknown field; expected only the fields of the pilot format (docs/seeds.md), check its spelling`,
    );
  }
  const path = formatIssuePath(issue.path);
  const missing = issue.code === 'invalid_type' && issue.input === undefined;
  const saysWhatItGot = /\bgot\b/.test(issue.message);
  if (missing) return [`${path}: missing; ${issue.message}`];
  const got = saysWhatItGot || !('input' in issue) ? '' : `, got ${preview(issue.input)}`;
  return [`${path}: ${issue.message}${got}`];
}
