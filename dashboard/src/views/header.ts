// The header: the app's name, the pilot picker, the live-feed status and the language toggle.

import type { PilotSummary } from '../api.js';
import type { Formatters } from '../format.js';
import { pick, type Lang, type Translate } from '../i18n.js';
import { h, setText } from './dom.js';

export type FeedStatus = { kind: 'connecting' } | { kind: 'live'; lastMs: number } | { kind: 'offline' };

export interface HeaderView {
  readonly element: HTMLElement;
  setPilots(pilots: readonly PilotSummary[], selectedId: string | null): void;
  setStatus(status: FeedStatus, timeZone?: string): void;
  setLanguage(lang: Lang, t: Translate, fmt: Formatters): void;
}

export interface HeaderOptions {
  onPilotChange: (pilotId: string) => void;
  onToggleLanguage: () => void;
}

export function createHeader({ onPilotChange, onToggleLanguage }: HeaderOptions): HeaderView {
  const title = h('h1', { class: 'brand' }, h('span', { class: 'brand__latin' }, 'michi'), ' ', h('span', { class: 'brand__kanji' }, '道'));
  const tagline = h('p', { class: 'brand__tagline' });
  const pickerLabel = h('label', { class: 'pilot-picker__label', for: 'pilot-picker' });
  const picker = h('select', { id: 'pilot-picker', class: 'pilot-picker', 'data-testid': 'pilot-picker', disabled: true });
  const statusDot = h('span', { class: 'feed-status__dot', 'aria-hidden': 'true' });
  const statusText = h('span', { class: 'feed-status__text' });
  const status = h('div', { class: 'feed-status is-connecting', 'data-testid': 'feed-status', role: 'status' }, statusDot, statusText);
  const langName = h('span', {});
  const langToggle = h('button', { type: 'button', class: 'lang-toggle', 'data-testid': 'lang-toggle' }, langName);

  picker.addEventListener('change', () => onPilotChange(picker.value));
  langToggle.addEventListener('click', onToggleLanguage);

  const element = h(
    'header',
    { class: 'app-header' },
    h('div', { class: 'brand-block' }, title, tagline),
    h('div', { class: 'pilot-picker-block' }, pickerLabel, picker),
    h('div', { class: 'header-spacer' }),
    status,
    langToggle,
  );

  let pilots: readonly PilotSummary[] = [];
  let loaded = false;
  let selected: string | null = null;
  let lang: Lang = 'ja';
  let t: Translate = (key) => key;
  let fmt: Formatters | null = null;
  let currentStatus: FeedStatus = { kind: 'connecting' };
  let statusZone: string | undefined;

  function renderPicker(): void {
    const options = pilots.map((p) =>
      h('option', { value: p.id, selected: p.id === selected }, `${pick(p.name, lang)} — ${pick(p.municipality, lang)}`),
    );
    if (pilots.length === 0) options.push(h('option', { value: '' }, t('pilot.none')));
    picker.replaceChildren(...options);
    if (selected) picker.value = selected;
    picker.disabled = pilots.length < 2;
  }

  function renderStatus(): void {
    status.className = `feed-status is-${currentStatus.kind}`;
    if (currentStatus.kind === 'live' && fmt) {
      setText(statusText, `${t('status.live')} · ${fmt.clock(currentStatus.lastMs, statusZone)}`);
    } else {
      setText(statusText, t(currentStatus.kind === 'offline' ? 'status.offline' : 'status.connecting'));
    }
  }

  return {
    element,
    setPilots(next, selectedId) {
      pilots = next;
      loaded = true;
      selected = selectedId;
      renderPicker();
    },
    setStatus(next, timeZone) {
      currentStatus = next;
      statusZone = timeZone;
      renderStatus();
    },
    setLanguage(nextLang, nextT, nextFmt) {
      lang = nextLang;
      t = nextT;
      fmt = nextFmt;
      setText(tagline, t('app.tagline'));
      setText(pickerLabel, t('pilot.picker'));
      // The button names the other language in that language ("English", 「日本語」), marked as
      // such so a screen reader pronounces it right; the tooltip says what it does.
      setText(langName, t('lang.toggle'));
      langName.lang = nextLang === 'ja' ? 'en' : 'ja';
      langToggle.title = t('lang.toggleLabel');
      if (!loaded) picker.replaceChildren(h('option', { value: '' }, t('pilot.loading')));
      else renderPicker();
      renderStatus();
    },
  };
}
