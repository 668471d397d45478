// The side panels that read a time range (events, KPIs, data completeness, and the coverage layer
// when it is on): the live last hour, or the replay's range. A newer load aborts the one before.

import type { MichiApi } from './api.js';
import type { Role, TimeRange } from './api-types.js';
import { LIVE_RANGE_MS, type AppStateReader } from './app-state.js';
import { isAbort } from './errors.js';
import type { CompletenessView } from './views/completeness-view.js';
import type { EventsListView } from './views/events-list.js';
import type { KpiPanelView } from './views/kpi-panel.js';
import type { ReplayBarView } from './views/replay-bar.js';

export function panelRange(state: AppStateReader, now: () => number): TimeRange {
  const replay = state.get('replay');
  if (state.get('mode') === 'replay' && replay) return replay.range;
  const t = now();
  return { from: t - LIVE_RANGE_MS, to: t };
}

export interface PanelsDeps {
  state: AppStateReader;
  api: MichiApi;
  now: () => number;
  role: () => Role;
  events: EventsListView;
  kpiPanel: KpiPanelView;
  completeness: CompletenessView;
  replayBar: ReplayBarView;
  coverage: { readonly on: boolean; load(): Promise<void> };
}

export interface Panels {
  load(): Promise<void>;
  abort(): void;
}

export function createPanels({ state, api, now, role, events, kpiPanel, completeness, replayBar, coverage }: PanelsDeps): Panels {
  let panelsAbort: AbortController | null = null;

  async function load(): Promise<void> {
    const pilot = state.get('pilot');
    if (!pilot) return;
    panelsAbort?.abort();
    const controller = new AbortController();
    panelsAbort = controller;
    const id = pilot.id;
    const range = panelRange(state, now);
    const which = state.get('mode');
    const signal = controller.signal;
    const jobs: Promise<unknown>[] = [
      api
        .events(id, { ...range, type: events.typeFilter || undefined, limit: 500 }, signal)
        .then((list) => {
          events.setEvents(list);
          if (which === 'replay') replayBar.setEvents(list);
        })
        .catch((err) => !isAbort(err) && events.setEvents(null, true)),
      api
        .kpis(id, range, signal)
        .then((k) => kpiPanel.setKpis(k, which))
        .catch((err) => !isAbort(err) && kpiPanel.setKpis(null, which, true)),
    ];
    if (role() === 'operator') {
      jobs.push(
        api
          .completeness(id, range, signal)
          .then((s) => completeness.setSources(s))
          .catch((err) => !isAbort(err) && completeness.setSources(null, true)),
      );
    }
    if (coverage.on) jobs.push(coverage.load());
    await Promise.all(jobs);
  }

  return { load, abort: () => panelsAbort?.abort() };
}
