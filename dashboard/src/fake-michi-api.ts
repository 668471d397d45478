// For unit tests: a MichiApi that answers only what a test gives it. Every other call rejects, so a
// test that starts using a call it did not fake fails at once instead of hanging.
import type { MichiApi } from './api.js';

// Every method, so that tsc names this file when MichiApi gains one.
const METHODS: Record<keyof MichiApi, true> = {
  token: true,
  me: true,
  config: true,
  listPilots: true,
  getPilot: true,
  listVehicles: true,
  listSensors: true,
  tracks: true,
  links: true,
  events: true,
  kpis: true,
  coverage: true,
  completeness: true,
  report: true,
  reportCsv: true,
  alarms: true,
  alarmHistory: true,
  alarmCounts: true,
  acknowledgeAlarm: true,
  clearAlarm: true,
  live: true,
};

export function fakeMichiApi(given: Partial<MichiApi>): MichiApi {
  const unused = (): Promise<never> => Promise.reject(new Error('not used here'));
  const api = Object.fromEntries(Object.keys(METHODS).map((name) => [name, unused]));
  return { ...api, ...given } as MichiApi;
}
