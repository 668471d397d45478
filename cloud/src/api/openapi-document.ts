/**
 * The OpenAPI 3.1 document of /api/v1, generated from the routes registered with a contract
 * (route-contract.ts) and those documented without a route handler (the live feed's upgrade).
 * Named zod schemas (meta `id`) become components.schemas; every /api/ route must have a contract,
 * or registering it throws, so the document cannot miss one.
 */
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import type { ApiResponseSpec, ApiRouteContract } from '@michi/proto';
import { jsonSchemaOf, type JsonSchema } from './route-contract.js';

const TAGS = [
  { name: 'meta', description: 'Health and this document; no token needed.' },
  { name: 'pilots', description: 'The caller, its pilots and their definitions.' },
  { name: 'vehicles', description: 'Vehicles and roadside sensors with their latest state.' },
  { name: 'history', description: 'What InfluxDB holds over a time range, behind the query gate (api.limits).' },
  { name: 'live', description: 'The WebSocket live feed.' },
  { name: 'alarms', description: 'Open alarms, their history, and what operators do about them (docs/alarms.md).' },
  {
    name: 'records',
    description: 'The operating-state record and incident bundles (operators only; docs/records.md, docs/incident-bundles.md).',
  },
];

const DEFS = '#/$defs/';
const COMPONENTS = '#/components/schemas/';

/** Moves `$defs` into `components`, rewriting their references; drops `$schema` (the document's dialect is 2020-12). */
function lift(schema: JsonSchema, components: Record<string, JsonSchema>): JsonSchema {
  const { $schema: _dialect, $defs, ...rest } = schema as JsonSchema & { $defs?: Record<string, JsonSchema> };
  const rewrite = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(rewrite);
    if (v === null || typeof v !== 'object') return v;
    return Object.fromEntries(
      Object.entries(v).map(([k, x]) => [
        k,
        k === '$ref' && typeof x === 'string' && x.startsWith(DEFS) ? COMPONENTS + x.slice(DEFS.length) : rewrite(x),
      ]),
    );
  };
  for (const [name, def] of Object.entries($defs ?? {})) {
    const lifted = rewrite(def) as JsonSchema;
    const known = components[name];
    if (known && JSON.stringify(known) !== JSON.stringify(lifted)) throw new Error(`two different schemas are named ${name}`);
    components[name] = lifted;
  }
  return rewrite(rest) as JsonSchema;
}

function parameters(schema: z.ZodObject | undefined, where: 'path' | 'query', components: Record<string, JsonSchema>): JsonSchema[] {
  if (!schema) return [];
  const json = lift(jsonSchemaOf(schema, 'input'), components) as { properties?: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, { description, ...s }]) => ({
    name,
    in: where,
    required: where === 'path' || (json.required ?? []).includes(name),
    ...(description === undefined ? {} : { description }),
    schema: s,
  }));
}

/** A JSON body; required when its schema requires a field (a body of optional fields may be left out). */
function requestBody(schema: z.ZodObject, components: Record<string, JsonSchema>): JsonSchema {
  const json = lift(jsonSchemaOf(schema, 'input'), components);
  const required = Array.isArray(json['required']) && json['required'].length > 0;
  return { required, content: { 'application/json': { schema: json } } };
}

/** A response's JSON body, and the text bodies it may take instead (a CSV). */
function content(r: ApiResponseSpec, components: Record<string, JsonSchema>): JsonSchema {
  const text = Object.fromEntries((r.otherMediaTypes ?? []).map((type) => [type, { schema: { type: 'string' } }]));
  return { 'application/json': { schema: lift(jsonSchemaOf(r.schema!, 'output'), components) }, ...text };
}

function operation(route: ApiRouteContract, components: Record<string, JsonSchema>): JsonSchema {
  const responses = Object.fromEntries(
    Object.entries(route.responses).map(([status, r]) => [
      status,
      {
        description: r.description,
        ...(r.headers ? { headers: r.headers } : {}),
        ...(r.schema ? { content: content(r, components) } : {}),
        // A binary body (an archive): its media type without a schema, i.e. any bytes.
        ...(r.contentType ? { content: { [r.contentType]: {} } } : {}),
      },
    ]),
  );
  return {
    operationId: route.operationId,
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    tags: [...route.tags],
    ...(route.public ? { security: [] } : {}),
    parameters: [...parameters(route.params, 'path', components), ...parameters(route.querystring, 'query', components)],
    ...(route.body ? { requestBody: requestBody(route.body, components) } : {}),
    responses,
  };
}

/** `/api/v1/pilots/:pilot` → `/api/v1/pilots/{pilot}`. */
export function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

export class ApiDocument {
  private readonly routes: ApiRouteContract[] = [];
  private cached: JsonSchema | undefined;

  /** Records every route `app` registers from now on; throws for an /api/ route without a contract. */
  constructor(app: FastifyInstance) {
    app.addHook('onRoute', (route) => {
      const contract = route.config?.contract;
      if (!contract) {
        if (route.url.startsWith('/api/')) throw new Error(`${route.method} ${route.url} has no contract (@michi/proto API_ROUTES)`);
        return;
      }
      if (route.method === 'HEAD') return;
      this.routes.push(contract);
    });
  }

  /** A route served outside the router (the live feed's WebSocket upgrade). */
  documented(route: ApiRouteContract): void {
    this.routes.push(route);
  }

  /** The document, built once all routes are registered (on its first request). */
  document(): JsonSchema {
    if (this.cached) return this.cached;
    const components: Record<string, JsonSchema> = {};
    const paths: Record<string, Record<string, JsonSchema>> = {};
    for (const route of this.routes) {
      const item = (paths[openApiPath(route.url)] ??= {});
      item[route.method.toLowerCase()] = operation(route, components);
    }
    this.cached = {
      openapi: '3.1.0',
      info: {
        title: 'michi cloud API',
        version: '1',
        description:
          'Pilots, vehicles, tracks, events, KPIs, 5G coverage and data completeness of michi pilots. Every endpoint except health and this document needs `Authorization: Bearer <token>`. Generated from the route schemas in @michi/proto (proto/src/api/); see docs/api.md.',
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      },
      servers: [{ url: '/', description: 'The cloud that serves this document.' }],
      security: [{ bearer: [] }],
      tags: TAGS,
      paths,
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'A token from the cloud configuration (auth.tokens).' } },
        schemas: Object.fromEntries(Object.entries(components).sort(([a], [b]) => a.localeCompare(b))),
      },
    };
    return this.cached;
  }
}
