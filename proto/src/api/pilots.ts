/**
 * GET /me, /pilots, /pilots/{pilot}, /pilots/{pilot}/vehicles and /pilots/{pilot}/sensors: who the
 * caller is, the pilots it may read, a pilot's definition, the latest state of its vehicles and the
 * latest reading of its roadside sensors (also the shapes the live feed sends, live.ts).
 */
import { z } from 'zod';
import { PilotObjectSchema } from '../seed-schema.js';
import { AUTONOMY_MODES, BilingualSchema, LonLatSchema, ROLES, epochMsSchema } from './common.js';

export const MeResponseSchema = z.object({
  id: z.string().meta({ description: "The token's id (auth.tokens)." }),
  role: z.enum(ROLES),
  pilots: z.array(z.string()).meta({ description: 'Pilot ids the token may read; ["*"] for all.' }),
});
export type MeResponse = z.infer<typeof MeResponseSchema>;

const MunicipalitySchema = z
  .object({
    ja: z.string(),
    en: z.string(),
    code: z
      .string()
      .regex(/^\d{6}$/)
      .meta({ description: '全国地方公共団体コード' }),
  })
  .meta({ id: 'Municipality' });

export const PilotSummarySchema = z.object({
  id: z.string(),
  name: BilingualSchema,
  municipality: MunicipalitySchema,
  counts: z.object({ vehicles: z.int(), sensors: z.int(), cellSites: z.int() }),
});
export type PilotSummary = z.infer<typeof PilotSummarySchema>;
export const PilotsResponseSchema = z.object({ pilots: z.array(PilotSummarySchema) });

// The pilot definition as the seed schema has it (seeds/, docs/seeds.md), minus what the API never
// sends: gateway credentials references and field names; gateways and the gateway ids of vehicles
// and sensors only to operators.
const seed = PilotObjectSchema.shape;
const GatewayViewSchema = seed.gateways.element.omit({ credentialsRef: true });
const VehicleDefinitionSchema = seed.vehicles.unwrap().element.partial({ gatewayId: true });
const SensorDefinitionSchema = seed.sensors.unwrap().element.partial({ gatewayId: true });

export const PilotDetailSchema = PilotObjectSchema.omit({ fieldNames: true, alarms: true })
  .extend({
    // The seed's check that the notice says "fictional" is case-insensitive, a flag JSON Schema's
    // `pattern` cannot carry: the seed loader checked it already.
    notice: z.string(),
    noticeJa: z.string().optional(),
    gateways: z.array(GatewayViewSchema).optional().meta({ description: 'Operators only, without credentials references.' }),
    vehicles: z
      .array(VehicleDefinitionSchema)
      .meta({ description: 'Viewers: no gatewayId nor relayGatewayIds; aliased ids when the pilot hides ids.' }),
    sensors: z
      .array(SensorDefinitionSchema)
      .meta({ description: 'Viewers: no gatewayId nor relayGatewayIds; aliased ids when the pilot hides ids.' }),
    alarmViewerCount: z.boolean().meta({
      description: "The seed's alarms.viewerCount: whether viewers may read the number of open alarms (GET /pilots/{pilot}/alarms/count).",
    }),
  })
  .meta({ id: 'PilotDetail' });
export type PilotDetail = z.infer<typeof PilotDetailSchema>;

export const LinkSampleViewSchema = z
  .object({
    ts_ms: epochMsSchema.meta({ description: 'Source timestamp of the sample, ms since the epoch.' }),
    cell: z
      .string()
      .nullable()
      .meta({ description: "The serving cell's NR cell identity; null for viewers of a pilot that delays or coarsens positions." }),
    pci: z.int().nullable(),
    band: z.string().nullable().meta({ description: 'NR band, e.g. n79.' }),
    rsrp_dbm: z.number().nullable().meta({ description: 'null when the sample had no RSRP.' }),
    sinr_db: z.number().nullable(),
    rtt_ms: z.number().nullable(),
  })
  .meta({ id: 'LinkSampleView' });
export type LinkSampleView = z.infer<typeof LinkSampleViewSchema>;

export const VehicleStateViewSchema = z
  .object({
    ts_ms: epochMsSchema.meta({ description: "Source timestamp (the vehicle's clock), ms since the epoch." }),
    recv_ms: z.int().nullable().meta({
      description:
        "When the cloud received it (the cloud's clock); null for viewers of a coarsened pilot, or a state read back from InfluxDB without one.",
    }),
    seq: z.int().nullable(),
    lat: z.number().nullable().meta({ description: 'null when the reading had no position.' }),
    lon: z.number().nullable(),
    speed_mps: z.number().nullable(),
    heading_deg: z.number().nullable(),
    mode: z.enum(AUTONOMY_MODES).nullable().meta({ description: 'AutonomyMode without its prefix, e.g. AUTONOMOUS.' }),
    battery_pct: z.number().nullable().meta({ description: 'null when the vehicle did not report it (not measured is not 0 %).' }),
    link: LinkSampleViewSchema.nullable().meta({
      description: "The vehicle's latest 5G link sample (whatever the state's time); null until one arrived.",
    }),
  })
  .meta({ id: 'VehicleStateView' });
export type VehicleStateView = z.infer<typeof VehicleStateViewSchema>;

export const VehicleViewSchema = z
  .object({
    id: z.string(),
    kind: z.string(),
    name: BilingualSchema,
    routeId: z.string(),
    state: VehicleStateViewSchema.nullable().meta({ description: 'null until the vehicle has reported.' }),
  })
  .meta({ id: 'VehicleView' });
export type VehicleView = z.infer<typeof VehicleViewSchema>;

export const VehiclesResponseSchema = z.object({ pilot: z.string(), now_ms: epochMsSchema, vehicles: z.array(VehicleViewSchema) });
export type VehiclesResponse = z.infer<typeof VehiclesResponseSchema>;

export const SensorLatestSchema = z.object({
  ts_ms: epochMsSchema,
  counts: z.record(z.string(), z.number()),
  measures: z.record(z.string(), z.number()),
});
export type SensorLatest = z.infer<typeof SensorLatestSchema>;

export const SensorViewSchema = z.object({
  id: z.string(),
  kind: z.string(),
  name: BilingualSchema,
  position: LonLatSchema,
  latest: SensorLatestSchema.nullable().meta({ description: "Counts and measures of the sensor's last reading; null before one." }),
});
export type SensorView = z.infer<typeof SensorViewSchema>;
export const SensorsResponseSchema = z.object({ sensors: z.array(SensorViewSchema) });
