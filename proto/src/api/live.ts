/**
 * The messages of the WebSocket live feed (GET /api/v1/live): a snapshot on connect, then a
 * `state` per change, or with batch=1 the changes of one moment in one `states` message; to
 * operators each alarm change as an `alarm`, to viewers of an opted-in pilot an `alarm-count`.
 */
import { z } from 'zod';
import { AlarmChangeSchema, AlarmCountSchema } from './alarms.js';
import { epochMsSchema } from './common.js';
import { VehicleStateViewSchema, VehicleViewSchema } from './pilots.js';

export const LiveSnapshotSchema = z
  .object({
    type: z.literal('snapshot'),
    now_ms: epochMsSchema.meta({ description: "The cloud's time of the snapshot." }),
    vehicles: z.array(VehicleViewSchema).meta({ description: 'As GET /pilots/{pilot}/vehicles shows them to this token.' }),
  })
  .meta({ id: 'LiveSnapshot' });

export const LiveVehicleStateSchema = z
  .object({ id: z.string(), state: VehicleStateViewSchema.nullable() })
  .meta({ id: 'LiveVehicleState' });
export type LiveVehicleState = z.infer<typeof LiveVehicleStateSchema>;

export const LiveStateSchema = z
  .object({ type: z.literal('state'), vehicle: LiveVehicleStateSchema })
  .meta({ id: 'LiveState', description: 'One vehicle changed; at most `hz` per second per vehicle.' });

export const LiveStatesSchema = z
  .object({ type: z.literal('states'), vehicles: z.array(LiveVehicleStateSchema).max(250) })
  .meta({ id: 'LiveStates', description: 'With batch=1: the changes due at one moment (at most 250 per message).' });

export const LiveAlarmSchema = z.object({ type: z.literal('alarm'), change: AlarmChangeSchema }).meta({
  id: 'LiveAlarm',
  description: "Operators only: one change of one of the pilot's alarms, as it is stored, at once and unthrottled.",
});

export const LiveAlarmCountSchema = z.object({ type: z.literal('alarm-count'), ...AlarmCountSchema.shape }).meta({
  id: 'LiveAlarmCount',
  description:
    'Viewers of a pilot with alarms.viewerCount only: the open alarms by severity, after the snapshot and whenever the numbers change.',
});

export const LiveMessageSchema = z
  .discriminatedUnion('type', [LiveSnapshotSchema, LiveStateSchema, LiveStatesSchema, LiveAlarmSchema, LiveAlarmCountSchema])
  .meta({ id: 'LiveMessage', description: 'A text frame of the live feed, JSON.' });
export type LiveMessage = z.infer<typeof LiveMessageSchema>;
