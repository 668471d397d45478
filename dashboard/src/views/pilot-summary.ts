// The top of the side panel: which pilot this is, where, and how big.

import type { PilotDetail, PilotSummary } from '../api.js';
import type { Formatters } from '../format.js';
import { pick, type Lang, type Translate } from '../i18n.js';
import { h, setText } from './dom.js';

export interface PilotSummaryView {
  readonly element: HTMLElement;
  setPilot(pilot: PilotDetail | null, summary: PilotSummary | null): void;
  setLanguage(lang: Lang, t: Translate, fmt: Formatters): void;
}

export function createPilotSummary(): PilotSummaryView {
  const name = h('h2', { class: 'pilot-summary__name', 'data-testid': 'pilot-name' });
  const place = h('p', { class: 'pilot-summary__place' });
  const counts = h('p', { class: 'pilot-summary__counts' });
  const element = h('section', { class: 'pilot-summary' }, name, place, counts);
  let pilot: PilotDetail | null = null;
  let summary: PilotSummary | null = null;
  let lang: Lang = 'ja';
  let t: Translate = (key) => key;
  let fmt: Formatters | null = null;

  function render(): void {
    element.hidden = !pilot;
    if (!pilot || !fmt) return;
    setText(name, pick(pilot.name, lang));
    setText(place, t('pilot.place', { name: pick(pilot.municipality, lang), code: pilot.municipality.code }));
    const c = summary?.counts ?? {
      vehicles: pilot.vehicles.length,
      sensors: pilot.sensors.length,
      cellSites: pilot.cellSites.length,
    };
    setText(
      counts,
      t('pilot.counts', { vehicles: fmt.integer(c.vehicles), sensors: fmt.integer(c.sensors), cellSites: fmt.integer(c.cellSites) }),
    );
  }

  return {
    element,
    setPilot(nextPilot, nextSummary) {
      pilot = nextPilot;
      summary = nextSummary;
      render();
    },
    setLanguage(nextLang, nextT, nextFmt) {
      lang = nextLang;
      t = nextT;
      fmt = nextFmt;
      render();
    },
  };
}
