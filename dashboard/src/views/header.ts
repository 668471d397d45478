// The header: the app's name, the pilot picker, live / replay, the 5G coverage toggle, the alarm
// counter (its own view, placed here), the live-feed status, who is signed in, and the language toggle.

import type { PilotSummary, Role } from '../api-types.js';
import type { ViewMode } from '../url-state.js';
import type { Formatters } from '../format.js';
import { pick, type Lang, type Translate } from '../i18n.js';
import { h, setText } from './dom.js';

export type FeedStatus =
  { kind: 'connecting' } | { kind: 'live'; lastMs: number; transport?: 'websocket' | 'polling' } | { kind: 'offline' } | { kind: 'replay' };

export interface HeaderView {
  readonly element: HTMLElement;
  setPilots(pilots: readonly PilotSummary[], selectedId: string | null): void;
  setStatus(status: FeedStatus, timeZone?: string): void;
  setLanguage(lang: Lang, t: Translate, fmt: Formatters): void;
  setMode(mode: ViewMode): void;
  setCoverage(on: boolean): void;
  setUser(user: { id: string; role: Role } | null): void;
}

export interface HeaderOptions {
  onPilotChange: (pilotId: string) => void;
  onToggleLanguage: () => void;
  onModeChange: (mode: ViewMode) => void;
  onToggleCoverage: () => void;
  onSignOut: () => void;
  /** Shown before the feed status, on every tab (the alarm counter). */
  alarmCounter?: HTMLElement;
}

export function createHeader({
  onPilotChange,
  onToggleLanguage,
  onModeChange,
  onToggleCoverage,
  onSignOut,
  alarmCounter,
}: HeaderOptions): HeaderView {
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
  const liveButton = h('button', { type: 'button', class: 'segmented__button', 'data-testid': 'mode-live' });
  const replayButton = h('button', { type: 'button', class: 'segmented__button', 'data-testid': 'mode-replay' });
  liveButton.addEventListener('click', () => onModeChange('live'));
  replayButton.addEventListener('click', () => onModeChange('replay'));
  const modeGroup = h('div', { class: 'segmented', role: 'group' }, liveButton, replayButton);
  const coverage = h('button', { type: 'button', class: 'header-button', 'data-testid': 'coverage-toggle', 'aria-pressed': 'false' });
  coverage.addEventListener('click', onToggleCoverage);
  const user = h('span', { class: 'user-badge', 'data-testid': 'user-badge' });
  const signOut = h('button', { type: 'button', class: 'header-button', 'data-testid': 'sign-out' });
  signOut.addEventListener('click', onSignOut);
  const userBlock = h('div', { class: 'user-block', hidden: true }, user, signOut);

  const element = h(
    'header',
    { class: 'app-header' },
    h('div', { class: 'brand-block' }, title, tagline),
    h('div', { class: 'pilot-picker-block' }, pickerLabel, picker),
    modeGroup,
    coverage,
    h('div', { class: 'header-spacer' }),
    alarmCounter,
    status,
    userBlock,
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
  let currentUser: { id: string; role: Role } | null = null;

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
    status.dataset.transport = currentStatus.kind === 'live' ? (currentStatus.transport ?? 'polling') : '';
    if (currentStatus.kind === 'live' && fmt) {
      const label =
        currentStatus.transport === 'websocket'
          ? 'status.websocket'
          : currentStatus.transport === 'polling'
            ? 'status.polling'
            : 'status.live';
      setText(statusText, `${t(label)} · ${fmt.clock(currentStatus.lastMs, statusZone)}`);
    } else if (currentStatus.kind === 'replay') {
      setText(statusText, t('status.replay'));
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
      setText(liveButton, t('view.live'));
      setText(replayButton, t('view.replay'));
      modeGroup.setAttribute('aria-label', t('view.label'));
      setText(coverage, t('coverage.toggle'));
      setText(signOut, t('auth.signOut'));
      renderUser();
      renderStatus();
    },
    setMode(mode) {
      liveButton.setAttribute('aria-pressed', String(mode === 'live'));
      replayButton.setAttribute('aria-pressed', String(mode === 'replay'));
    },
    setCoverage(on) {
      coverage.setAttribute('aria-pressed', String(on));
    },
    setUser(next) {
      currentUser = next;
      renderUser();
    },
  };

  function renderUser(): void {
    userBlock.hidden = !currentUser;
    if (!currentUser) return;
    setText(user, `${t(currentUser.role === 'operator' ? 'role.operator' : 'role.viewer')} · ${currentUser.id}`);
    user.dataset.role = currentUser.role;
  }
}
