// The replay controls under the map: a time range (in the pilot's time zone), load, play/pause,
// speed 1x–60x and the timeline itself, a slider with the events of the range as ticks on it.
// The slider is a native <input type="range">: arrow keys, Page Up/Down, Home and End work.

import type { MichiEvent } from '../api-types.js';
import type { Formatters } from '../format.js';
import type { Lang, MessageKey, Translate } from '../i18n.js';
import { REPLAY_SPEEDS, type ReplaySpeed } from '../replay/replay-clock.js';
import { fromWallInput, toWallInput } from '../time-zone.js';
import { h, setText } from './dom.js';
import { eventTypeLabel } from './events-list.js';

export interface ReplayBarOptions {
  onLoad(range: { from: number; to: number }): void;
  onPlayPause(): void;
  onSpeed(speed: ReplaySpeed): void;
  onScrub(t: number): void;
  onTick(event: MichiEvent): void;
}

export interface ReplayBarView {
  readonly element: HTMLElement;
  setRange(from: number, to: number): void;
  setCursor(t: number): void;
  setPlaying(playing: boolean): void;
  setSpeed(speed: ReplaySpeed): void;
  setEvents(events: readonly MichiEvent[]): void;
  setStatus(key: MessageKey | null): void;
  setReady(ready: boolean): void;
  setLanguage(lang: Lang, t: Translate, fmt: Formatters, timeZone: string): void;
}

/** Longest range one replay loads: a day of a pilot. */
export const MAX_REPLAY_MS = 24 * 3600_000;

export function createReplayBar(options: ReplayBarOptions): ReplayBarView {
  const fromLabel = h('label', { for: 'replay-from' });
  const fromInput = h('input', { id: 'replay-from', type: 'datetime-local', step: 1, 'data-testid': 'replay-from' });
  const toLabel = h('label', { for: 'replay-to' });
  const toInput = h('input', { id: 'replay-to', type: 'datetime-local', step: 1, 'data-testid': 'replay-to' });
  const load = h('button', { type: 'button', class: 'button', 'data-testid': 'replay-load' });
  const zoneNote = h('span', { class: 'replay__zone' });
  const play = h('button', { type: 'button', class: 'button button--primary replay__play', 'data-testid': 'replay-play', disabled: true });
  const speedLabel = h('label', { for: 'replay-speed', class: 'visually-hidden' });
  const speed = h(
    'select',
    { id: 'replay-speed', 'data-testid': 'replay-speed' },
    ...REPLAY_SPEEDS.map((s) => h('option', { value: s }, `${s}x`)),
  );
  const scrub = h('input', {
    type: 'range',
    class: 'replay__scrub',
    min: 0,
    max: 1,
    step: 1000,
    value: 0,
    'data-testid': 'replay-scrub',
    disabled: true,
  });
  const ticks = h('div', { class: 'replay__ticks', 'data-testid': 'replay-ticks', 'aria-hidden': 'false' });
  const time = h('output', { class: 'replay__time', 'data-testid': 'replay-time', for: 'replay-scrub' });
  scrub.id = 'replay-scrub';
  const status = h('span', { class: 'replay__status', role: 'status', 'data-testid': 'replay-status' });
  const element = h(
    'section',
    { class: 'replay', 'data-testid': 'replay-bar', hidden: true },
    h('div', { class: 'replay__row' }, fromLabel, fromInput, toLabel, toInput, load, zoneNote, status),
    h('div', { class: 'replay__row' }, play, speedLabel, speed, h('div', { class: 'replay__track' }, ticks, scrub), time),
  );

  let t: Translate = (k) => k;
  let fmt: Formatters | null = null;
  let zone = 'Asia/Tokyo';
  let from = 0;
  let to = 1;
  let cursor = 0;
  let playing = false;
  let events: readonly MichiEvent[] = [];
  let statusKey: MessageKey | null = null;

  load.addEventListener('click', () => {
    const f = fromWallInput(fromInput.value, zone);
    const e = fromWallInput(toInput.value, zone);
    if (f === null || e === null || e <= f || e - f > MAX_REPLAY_MS) {
      statusKey = 'replay.badRange';
      renderStatus();
      return;
    }
    options.onLoad({ from: f, to: e });
  });
  play.addEventListener('click', () => options.onPlayPause());
  speed.addEventListener('change', () => options.onSpeed(Number(speed.value) as ReplaySpeed));
  scrub.addEventListener('input', () => options.onScrub(Number(scrub.value)));

  function renderStatus(): void {
    setText(status, statusKey ? t(statusKey) : '');
  }
  function renderTime(): void {
    const text = fmt ? fmt.dateTime(cursor, zone) : '';
    setText(time, text);
    scrub.setAttribute('aria-valuetext', text);
  }
  function renderTicks(): void {
    const span = Math.max(1, to - from);
    ticks.replaceChildren(
      ...events
        .filter((e) => e.ts_ms >= from && e.ts_ms <= to)
        .map((e) => {
          const severity = String(e.severity ?? 'INFO')
            .replace(/^SEVERITY_/, '')
            .toLowerCase();
          const label = `${fmt ? fmt.clock(e.ts_ms, zone) : ''} ${eventTypeLabel(e.type, t)}`;
          const tick = h('button', {
            type: 'button',
            class: `replay__tick severity-${severity}`,
            title: label,
            'aria-label': label,
            'data-testid': 'replay-tick',
            tabindex: -1,
          });
          tick.style.left = `${((e.ts_ms - from) / span) * 100}%`;
          tick.addEventListener('click', () => options.onTick(e));
          return tick;
        }),
    );
  }
  function renderPlay(): void {
    setText(play, playing ? `❚❚ ${t('replay.pause')}` : `▶ ${t('replay.play')}`);
    play.setAttribute('aria-pressed', String(playing));
  }

  return {
    element,
    setRange(nextFrom, nextTo) {
      from = nextFrom;
      to = nextTo;
      fromInput.value = toWallInput(from, zone);
      toInput.value = toWallInput(to, zone);
      scrub.min = String(from);
      scrub.max = String(to);
      renderTicks();
    },
    setCursor(next) {
      cursor = next;
      scrub.value = String(next);
      renderTime();
    },
    setPlaying(next) {
      playing = next;
      renderPlay();
    },
    setSpeed(next) {
      speed.value = String(next);
    },
    setEvents(next) {
      events = next;
      renderTicks();
    },
    setStatus(key) {
      statusKey = key;
      renderStatus();
    },
    setReady(ready) {
      play.disabled = !ready;
      scrub.disabled = !ready;
    },
    setLanguage(_lang, nextT, nextFmt, timeZone) {
      t = nextT;
      fmt = nextFmt;
      if (timeZone !== zone) {
        zone = timeZone;
        if (to > 1) {
          fromInput.value = toWallInput(from, zone);
          toInput.value = toWallInput(to, zone);
        }
      }
      setText(fromLabel, t('replay.from'));
      setText(toLabel, t('replay.to'));
      setText(load, t('replay.load'));
      setText(speedLabel, t('replay.speed'));
      speed.title = t('replay.speed');
      scrub.setAttribute('aria-label', t('replay.cursor'));
      setText(zoneNote, t('replay.timeZone', { zone }));
      element.setAttribute('aria-label', t('replay.title'));
      renderPlay();
      renderStatus();
      renderTime();
      renderTicks();
    },
  };
}
