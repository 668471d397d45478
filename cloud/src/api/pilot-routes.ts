/** GET /me, /pilots, /pilots/:pilot, /pilots/:pilot/vehicles and /pilots/:pilot/sensors. */
import type { FastifyInstance } from 'fastify';
import {
  API_ROUTES,
  type MeResponse,
  type Pilot,
  type PilotDetail,
  type PilotSummary,
  type SensorLatest,
  type SensorView,
  type VehiclesResponse,
} from '@michi/proto';
import { canReadPilot, type Principal } from '../auth.js';
import { querySensorsLatest } from '../queries/latest-query.js';
import { pilotFor, type ApiContext } from './context.js';
import { PilotPrivacy } from './privacy.js';
import { contractOptions } from './route-contract.js';
import { vehiclesView } from './vehicles-view.js';

type PilotParams = { Params: { pilot: string } };

/** The definition the map needs; gateways without their credentials reference, none at all for viewers. */
export function pilotView(p: Pilot, privacy: PilotPrivacy): PilotDetail {
  const view: PilotDetail = {
    id: p.id,
    notice: p.notice,
    noticeJa: p.noticeJa,
    name: p.name,
    municipality: p.municipality,
    timezone: p.timezone,
    serviceWindow: p.serviceWindow,
    map: p.map,
    routes: p.routes,
    stops: p.stops,
    geofences: p.geofences,
    cellSites: p.cellSites,
    gateways: p.gateways.map(({ credentialsRef: _secretRef, ...gw }) => gw),
    vehicles: p.vehicles,
    sensors: p.sensors,
    privacy: p.privacy,
    alarmViewerCount: p.alarms.viewerCount,
  };
  if (privacy.filtered) {
    delete view.gateways;
    // Relay gateways are gateway ids too: viewers see none.
    view.vehicles = p.vehicles.map(({ gatewayId: _gw, relayGatewayIds: _relays, ...v }) => ({ ...v, id: privacy.publicId(v.id) }));
    view.sensors = p.sensors.map(({ gatewayId: _gw, relayGatewayIds: _relays, ...s }) => ({ ...s, id: privacy.publicId(s.id) }));
  }
  return view;
}

export function principalOf(req: { principal: Principal | null }): Principal {
  // The authentication hook ran: a route reached without a principal is a programming error.
  if (!req.principal) throw new Error('no principal on an authenticated route');
  return req.principal;
}

export function registerPilotRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get(API_ROUTES.me.url, contractOptions(API_ROUTES.me), async (req): Promise<MeResponse> => {
    const p = principalOf(req);
    return { id: p.id, role: p.role, pilots: p.pilots === '*' ? ['*'] : [...p.pilots] };
  });

  app.get(API_ROUTES.pilots.url, contractOptions(API_ROUTES.pilots), async (req) => {
    const principal = principalOf(req);
    return {
      pilots: ctx.directory.pilots
        .filter((p) => canReadPilot(principal, p.id))
        .map((p): PilotSummary => ({
          id: p.id,
          name: p.name,
          municipality: p.municipality,
          counts: { vehicles: p.vehicles.length, sensors: p.sensors.length, cellSites: p.cellSites.length },
        })),
    };
  });

  app.get<PilotParams>(API_ROUTES.pilot.url, contractOptions(API_ROUTES.pilot), async (req) => {
    const principal = principalOf(req);
    const pilot = pilotFor(ctx, principal, req.params.pilot);
    return pilotView(pilot, new PilotPrivacy(pilot, principal));
  });

  app.get<PilotParams>(API_ROUTES.vehicles.url, contractOptions(API_ROUTES.vehicles), async (req): Promise<VehiclesResponse> => {
    const principal = principalOf(req);
    const pilot = pilotFor(ctx, principal, req.params.pilot);
    const now = ctx.now();
    return { pilot: pilot.id, now_ms: now, vehicles: await vehiclesView(ctx, pilot, new PilotPrivacy(pilot, principal), now) };
  });

  app.get<PilotParams>(API_ROUTES.sensors.url, contractOptions(API_ROUTES.sensors), async (req) => {
    const principal = principalOf(req);
    const pilot = pilotFor(ctx, principal, req.params.pilot);
    const privacy = new PilotPrivacy(pilot, principal);
    const latest = pilot.sensors.length > 0 ? await querySensorsLatest(ctx.query, pilot.id) : new Map<string, SensorLatest>();
    return {
      sensors: pilot.sensors.map((s): SensorView => ({
        id: privacy.publicId(s.id),
        kind: s.kind,
        name: s.name,
        position: s.position,
        latest: latest.get(s.id) ?? null,
      })),
    };
  });
}
