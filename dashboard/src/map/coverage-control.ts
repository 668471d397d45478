// The 5G coverage layer's control: on or off, which metric colours it, and the cells to draw,
// asked for the panels' time range at the resolution the map's zoom calls for.

import type { MichiApi } from '../api.js';
import { PANEL_REFRESH_MS, type AppStateReader, type BannerState } from '../app-state.js';
import { isAbort } from '../errors.js';
import { panelRange } from '../panels.js';
import type { HeaderView } from '../views/header.js';
import type { LegendView } from '../views/legend.js';
import { coverageResolution, type CoverageMetric } from './coverage.js';
import type { PilotMap } from './pilot-map.js';

/** After the map stops zooming, wait this long before asking for coverage at another resolution. */
const COVERAGE_ZOOM_DEBOUNCE_MS = 400;

export interface CoverageControlDeps {
  state: AppStateReader;
  api: MichiApi;
  now: () => number;
  setBanner: (next: BannerState) => void;
  header: HeaderView;
  legend: LegendView;
}

export interface CoverageControl {
  readonly on: boolean;
  toggle(): void;
  setMetric(metric: CoverageMetric): void;
  /** Asks for the cells unless the same pilot, mode, resolution and range were asked last. */
  load(): Promise<void>;
  /** The next load asks again (another pilot or mode). */
  forget(): void;
  /** Gives a new map the current metric and visibility. */
  applyTo(pilotMap: PilotMap): void;
  onViewChange(): void;
  stop(): void;
}

export function createCoverageControl({ state, api, now, setBanner, header, legend }: CoverageControlDeps): CoverageControl {
  let coverageOn = false;
  let coverageRange: string | null = null;
  let coverageMetric: CoverageMetric = 'rsrp';
  let coverageZoomTimer: ReturnType<typeof setTimeout> | undefined;

  async function load(): Promise<void> {
    const pilot = state.get('pilot');
    const pilotMap = state.get('pilotMap');
    const mode = state.get('mode');
    if (!pilot || !pilotMap) return;
    const range = panelRange(state, now);
    const res = coverageResolution(pilotMap.map.getZoom());
    const key = `${pilot.id}|${mode}|${res}|${mode === 'replay' ? `${range.from}-${range.to}` : Math.floor(range.to / PANEL_REFRESH_MS)}`;
    if (key === coverageRange) return;
    coverageRange = key;
    try {
      const coverage = await api.coverage(pilot.id, { ...range, res });
      // A newer request (another zoom, pilot or range) went out meanwhile: its answer wins.
      if (coverageRange !== key) return;
      // Drawn at the resolution the API answered, which for a viewer may be coarser than asked.
      state.get('pilotMap')?.setCoverage(coverage.cells ?? []);
      legend.setCoverageResolution(coverage.resolution ?? null);
    } catch (err) {
      if (coverageRange !== key) return;
      coverageRange = null;
      if (!isAbort(err)) setBanner({ key: 'coverage.error', tone: 'warning' });
    }
  }

  return {
    get on() {
      return coverageOn;
    },
    toggle() {
      coverageOn = !coverageOn;
      header.setCoverage(coverageOn);
      legend.setCoverage(coverageOn);
      state.get('pilotMap')?.setCoverageVisible(coverageOn);
      if (coverageOn) void load();
    },
    setMetric(metric) {
      coverageMetric = metric;
      legend.setCoverageMetric(metric);
      state.get('pilotMap')?.setCoverageMetric(metric);
    },
    load,
    forget() {
      coverageRange = null;
    },
    applyTo(pilotMap) {
      pilotMap.setCoverageMetric(coverageMetric);
      pilotMap.setCoverageVisible(coverageOn);
    },
    onViewChange() {
      // A zoom across a resolution step asks again (load's key holds the resolution); panning does not.
      clearTimeout(coverageZoomTimer);
      if (coverageOn) coverageZoomTimer = setTimeout(() => void load(), COVERAGE_ZOOM_DEBOUNCE_MS);
    },
    stop() {
      clearTimeout(coverageZoomTimer);
    },
  };
}
