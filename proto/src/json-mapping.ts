/**
 * The JSON side of the codec: proto3 JSON as protoc writes it with `preserving_proto_field_names`.
 * Input accepts snake_case and lowerCamelCase field names, enum names or numbers, 64-bit integers
 * as numbers or decimal strings; it rejects unknown fields and wrongly typed values with the path,
 * because protobufjs' fromObject would silently drop or coerce them.
 */
import { readFileSync } from 'node:fs';
import { ErrorCodes, PayloadError } from './errors.js';

interface FieldDescriptor {
  type: string;
  id: number;
  rule?: 'repeated';
  keyType?: string;
}
interface MessageDescriptor {
  fields: Record<string, FieldDescriptor>;
}
interface EnumDescriptor {
  values: Record<string, number>;
}
interface Namespace {
  nested?: Record<string, Partial<MessageDescriptor & EnumDescriptor & Namespace>>;
}

const root = JSON.parse(readFileSync(new URL('../gen/michi.descriptor.json', import.meta.url), 'utf8')) as Namespace;
const v1 = root.nested?.['michi']?.nested?.['v1']?.nested ?? {};

const INTEGER_TYPES = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32', 'int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const FLOAT_TYPES = new Set(['double', 'float']);

function lookup(typeName: string): { message?: MessageDescriptor; enumeration?: EnumDescriptor } {
  const short = typeName.replace(/^\.?michi\.v1\./, '');
  const d = Object.hasOwn(v1, short) ? v1[short] : undefined;
  if (d?.fields) return { message: d as MessageDescriptor };
  if (d?.values) return { enumeration: d as EnumDescriptor };
  return {};
}

function snakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail(path: string, message: string): never {
  throw new PayloadError(ErrorCodes.DECODE, message, path);
}

function scalar(type: string, value: unknown, path: string): unknown {
  if (FLOAT_TYPES.has(type)) {
    if (typeof value === 'number') return value;
    if (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value))) return Number(value);
    return fail(path, `expected a number, got ${JSON.stringify(value)}`);
  }
  if (INTEGER_TYPES.has(type)) {
    const n = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isSafeInteger(n)) return fail(path, `expected an integer, got ${JSON.stringify(value)}`);
    if (type.startsWith('u') || type.startsWith('fixed')) {
      if (n < 0) return fail(path, `expected an integer >= 0, got ${n}`);
    }
    return n;
  }
  if (type === 'bool') {
    if (typeof value === 'boolean') return value;
    return fail(path, `expected true or false, got ${JSON.stringify(value)}`);
  }
  if (type === 'string') {
    if (typeof value === 'string') return value;
    return fail(path, `expected a string, got ${JSON.stringify(value)}`);
  }
  if (type === 'bytes') {
    if (typeof value === 'string' && /^[A-Za-z0-9+/_-]*={0,2}$/.test(value)) return value;
    return fail(path, 'expected base64 bytes');
  }
  return fail(path, `unsupported type ${type}`);
}

function value(type: string, v: unknown, path: string): unknown {
  const { message, enumeration } = lookup(type);
  if (message) return normalizeMessage(message, v, path);
  if (enumeration) {
    if (typeof v === 'string' && Object.hasOwn(enumeration.values, v)) return enumeration.values[v];
    if (typeof v === 'number' && Object.values(enumeration.values).includes(v)) return v;
    return fail(path, `expected one of ${Object.keys(enumeration.values).join(', ')}, got ${JSON.stringify(v)}`);
  }
  return scalar(type, v, path);
}

function normalizeMessage(desc: MessageDescriptor, obj: unknown, path: string): Record<string, unknown> {
  if (!isPlainObject(obj)) return fail(path, `expected an object, got ${Array.isArray(obj) ? 'an array' : JSON.stringify(obj)}`);
  const out: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(obj)) {
    // Own properties only: a key such as "toString" or "__proto__" must not find Object.prototype.
    const name = Object.hasOwn(desc.fields, key) ? key : snakeCase(key);
    const field = Object.hasOwn(desc.fields, name) ? desc.fields[name] : undefined;
    const at = path ? `${path}.${name}` : name;
    if (!field) fail(at, `unknown field (expected one of ${Object.keys(desc.fields).join(', ')})`);
    if (raw === null) continue; // proto3 JSON: null is the field's default
    if (field.keyType) {
      if (!isPlainObject(raw)) fail(at, 'expected an object (a map)');
      const map: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
      for (const [k, v] of Object.entries(raw)) map[k] = value(field.type, v, `${at}[${JSON.stringify(k)}]`);
      out[name] = map;
    } else if (field.rule === 'repeated') {
      if (!Array.isArray(raw)) fail(at, 'expected an array');
      out[name] = raw.map((v, i) => value(field.type, v, `${at}[${i}]`));
    } else {
      out[name] = value(field.type, raw, at);
    }
  }
  return out;
}

/** Checks and normalizes a parsed JSON value for the named michi.v1 message; throws PayloadError. */
export function normalizeJson(messageName: string, parsed: unknown): Record<string, unknown> {
  const { message } = lookup(messageName);
  if (!message) throw new Error(`no message michi.v1.${messageName} in the descriptor`);
  return normalizeMessage(message, parsed, '');
}
