/**
 * Fastify route options from a route's contract (@michi/proto API_ROUTES): its JSON Schemas
 * (z.toJSONSchema of the zod schemas, so the route, the OpenAPI document and the dashboard's types
 * read one declaration), a validator that runs the zod schemas themselves, and a serializer that
 * checks every response against its schema before sending it.
 *
 * Why not fastify-type-provider-zod: its validation errors are Fastify's FST_ERR_VALIDATION, raised
 * before the route's handler, while the API answers 403/404 for a pilot before it looks at the
 * query, with a message naming the parameter (tests and clients rely on both); and its serializer,
 * like Fastify's default fast-json-stringify, shapes the output to the schema, dropping properties it
 * does not declare and coercing mismatched types. A response that does not match its contract is a
 * fault of ours: here it is a 500 with a log line (http-api.ts error handler), never data silently lost.
 */
import type { FastifyRequest, FastifySchema, RouteShorthandOptions } from 'fastify';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { z } from 'zod';
import type { ApiRouteContract } from '@michi/proto';
import { queryError } from './params.js';

export type JsonSchema = Record<string, unknown>;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route's contract: its schemas and its entry in the OpenAPI document. */
    contract?: ApiRouteContract;
  }
}

/** The JSON Schema (2020-12) of a zod schema: what a URL carries (`input`) or what a response holds (`output`). */
export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  // Refinements and transforms have no JSON Schema: the zod schema checks them (validator below).
  return z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as JsonSchema;
}

/** A response that does not match the route's contract: answered as a 500, logged with the mismatch. */
export class ResponseContractError extends Error {
  constructor(route: string, status: number, detail: string) {
    super(`the response of ${route} (status ${status}) does not match its contract: ${detail}`);
    this.name = 'ResponseContractError';
  }
}

// The schemas are generated from zod, not written by hand: strict mode's hints for authors (tuple
// bounds, unknown formats) would only reject zod's own output.
const ajv = new Ajv2020({ strict: false, allErrors: false });

function responseSerializer(route: string, status: number, schema: JsonSchema): (data: unknown) => string {
  const validate: ValidateFunction = ajv.compile(schema);
  return (data) => {
    if (!validate(data)) {
      const e = validate.errors?.[0];
      throw new ResponseContractError(route, status, e ? `${e.instancePath || '(body)'} ${e.message ?? ''}`.trim() : 'invalid');
    }
    return JSON.stringify(data);
  };
}

/**
 * The options to register `contract` with. Parameters are validated by the zod schemas but the
 * failure is only attached (`attachValidation`): the handler checks the pilot first, then calls
 * validQuery, so a forbidden pilot is a 403 whatever its query.
 */
export function contractOptions(contract: ApiRouteContract): RouteShorthandOptions {
  const zodOf: Record<string, z.ZodType | undefined> = { params: contract.params, querystring: contract.querystring, body: contract.body };
  const schema: FastifySchema = {
    response: Object.fromEntries(
      Object.entries(contract.responses)
        .filter(([, r]) => r.schema)
        .map(([status, r]) => [status, jsonSchemaOf(r.schema!, 'output')]),
    ),
  };
  if (contract.params) schema.params = jsonSchemaOf(contract.params, 'input');
  if (contract.querystring) schema.querystring = jsonSchemaOf(contract.querystring, 'input');
  if (contract.body) schema.body = jsonSchemaOf(contract.body, 'input');
  return {
    schema,
    attachValidation: true,
    validatorCompiler: ({ httpPart }) => {
      const zod = httpPart ? zodOf[httpPart] : undefined;
      return (data: unknown) => {
        if (!zod) return { value: data };
        const result = zod.safeParse(data ?? {});
        return result.success
          ? { value: result.data }
          : { error: queryError(result.error, data, httpPart === 'params' ? 'path' : httpPart === 'body' ? 'body' : 'query') };
      };
    },
    serializerCompiler: ({ schema: response, httpStatus }) => responseSerializer(contract.url, Number(httpStatus), response as JsonSchema),
    config: { contract, public: contract.public ?? false, operatorOnly: contract.operatorOnly ?? false },
  };
}

/** The parsed query (and body) of a route registered with contractOptions; throws its 400 when either did not validate. */
export function validQuery<Q>(req: FastifyRequest<{ Querystring: Q }>): Q {
  if (req.validationError) throw req.validationError;
  return req.query as Q;
}
