/**
 * The alarm routes (docs/alarms.md, docs/api.md): GET /pilots/:pilot/alarms (open alarms),
 * …/alarms/history and …/alarms/count, and the operators' POST …/alarms/:alarm/acknowledge and
 * …/clear. Everything but the count is for operators (the contracts say operatorOnly, so viewers get
 * 403 before a handler runs); a viewer gets the count only when the pilot's seed sets
 * alarms.viewerCount. An action's audit line names the alarm, the action and the comment, whatever
 * the answer (a refused attempt is worth knowing about too).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  API_ROUTES,
  ErrorCodes,
  MichiError,
  type AcknowledgeAlarmBody,
  type AlarmCount,
  type AlarmResponse,
  type AlarmsResponse,
  type ApiRouteContract,
  type ClearAlarmBody,
  type QueryParams,
} from '@michi/proto';
import type { z } from 'zod';
import { countOpenAlarms, sortOpenAlarms, type Alarm } from '../alarms/index.js';
import type { AuditAction } from '../audit-log.js';
import { ApiError } from '../errors.js';
import { pilotFor, type ApiContext } from './context.js';
import { timeRange } from './params.js';
import { principalOf } from './pilot-routes.js';
import { contractOptions, validQuery } from './route-contract.js';

type PilotParams = { Params: { pilot: string } };
type ActionRequest<B> = { Params: { pilot: string; alarm: string }; Body: B };
type AlarmAction = 'acknowledge' | 'clear';

/** The result label of michi_cloud_alarm_actions_total for an engine's refusal. */
const REFUSED: Partial<Record<string, { status: number; result: string }>> = {
  [ErrorCodes.NOT_FOUND]: { status: 404, result: 'not_found' },
  [ErrorCodes.ALARM_CLEARED]: { status: 409, result: 'already_cleared' },
};

/** The audit part of an action: the alarm id from the path, the comment if the body had one (as sent, at most 500 characters). */
function auditAction(action: AlarmAction) {
  return (req: FastifyRequest): AuditAction => {
    const alarm = (req.params as { alarm?: unknown } | undefined)?.alarm;
    const comment = (req.body as { comment?: unknown } | undefined)?.comment;
    return {
      action: `alarm.${action}`,
      ...(typeof alarm === 'string' ? { alarm: alarm.slice(0, 300) } : {}),
      ...(typeof comment === 'string' ? { comment: comment.slice(0, 500) } : {}),
    };
  };
}

function withAudit(contract: ApiRouteContract, action: AlarmAction) {
  const options = contractOptions(contract);
  return { ...options, config: { ...options.config, auditAction: auditAction(action) } };
}

export function registerAlarmRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const openOf = (pilot: string): Alarm[] => ctx.alarms?.openAlarms(pilot) ?? [];

  app.get<PilotParams>(API_ROUTES.alarms.url, contractOptions(API_ROUTES.alarms), async (req): Promise<AlarmsResponse> => {
    const pilot = pilotFor(ctx, principalOf(req), req.params.pilot);
    return { alarms: sortOpenAlarms(openOf(pilot.id)) };
  });

  app.get<PilotParams & { Querystring: z.output<typeof QueryParams.alarmHistory> }>(
    API_ROUTES.alarmHistory.url,
    contractOptions(API_ROUTES.alarmHistory),
    async (req): Promise<AlarmsResponse> => {
      const pilot = pilotFor(ctx, principalOf(req), req.params.pilot);
      const q = validQuery(req);
      const { from, to } = timeRange(q, ctx.now());
      const { source, rule, severity, state, limit } = q;
      const alarms =
        ctx.alarms?.store.alarmsChangedIn(pilot.id, {
          fromMs: from,
          toMs: to,
          limit,
          ...(source === undefined ? {} : { source }),
          ...(rule === undefined ? {} : { rule }),
          ...(severity === undefined ? {} : { severity }),
          ...(state === undefined ? {} : { state }),
        }) ?? [];
      return { alarms };
    },
  );

  app.get<PilotParams>(API_ROUTES.alarmCount.url, contractOptions(API_ROUTES.alarmCount), async (req): Promise<AlarmCount> => {
    const principal = principalOf(req);
    const pilot = pilotFor(ctx, principal, req.params.pilot);
    if (principal.role !== 'operator' && !pilot.alarms.viewerCount) {
      throw new ApiError(
        403,
        ErrorCodes.FORBIDDEN,
        `pilot "${pilot.id}" does not show its alarms to viewers, not even their number (alarms.viewerCount in its seed is false)`,
      );
    }
    return countOpenAlarms(openOf(pilot.id));
  });

  /** Runs an operator's action on an alarm of the pilot in the path; the engine's refusals become 404 and 409. */
  const act = (req: FastifyRequest<ActionRequest<unknown>>, action: AlarmAction, run: (id: string, by: string) => Alarm): AlarmResponse => {
    const principal = principalOf(req);
    const pilot = pilotFor(ctx, principal, req.params.pilot);
    // The body's 400 (route-contract.ts attaches it), after the pilot's 403/404.
    if (req.validationError) {
      ctx.metrics.alarmActions.inc({ action, result: 'invalid' });
      throw req.validationError;
    }
    const id = req.params.alarm;
    // Ids start with their pilot and a pilot id holds no ".": an operator of one pilot cannot reach another's alarm.
    if (ctx.alarms === undefined || id.slice(0, id.indexOf('.')) !== pilot.id) {
      ctx.metrics.alarmActions.inc({ action, result: 'not_found' });
      throw new ApiError(
        404,
        ErrorCodes.NOT_FOUND,
        `no alarm "${id}" in pilot "${pilot.id}"${ctx.alarms ? '' : ' (alarms.enabled is false)'}`,
      );
    }
    try {
      const alarm = run(id, principal.id);
      ctx.metrics.alarmActions.inc({ action, result: 'done' });
      return { alarm };
    } catch (err) {
      const refused = err instanceof MichiError ? REFUSED[err.code] : undefined;
      if (!refused) throw err;
      ctx.metrics.alarmActions.inc({ action, result: refused.result });
      throw new ApiError(refused.status, (err as MichiError).code, (err as MichiError).message);
    }
  };

  app.post<ActionRequest<AcknowledgeAlarmBody>>(
    API_ROUTES.acknowledgeAlarm.url,
    withAudit(API_ROUTES.acknowledgeAlarm, 'acknowledge'),
    async (req): Promise<AlarmResponse> => act(req, 'acknowledge', (id, by) => ctx.alarms!.acknowledge(id, by, req.body.comment)),
  );

  app.post<ActionRequest<ClearAlarmBody>>(
    API_ROUTES.clearAlarm.url,
    withAudit(API_ROUTES.clearAlarm, 'clear'),
    async (req): Promise<AlarmResponse> => act(req, 'clear', (id, by) => ctx.alarms!.clear(id, by)),
  );
}
