// The Alarms tab (operators): the open alarms in two lists, active and acknowledged, each sorted by
// severity then age (oldest first), as the API sorts them. A row says the severity, the rule in
// the page's language, the vehicle or source, how long ago it was raised, how many readings
// matched and its state; clicking it flies the map to the vehicle. Active alarms take an
// acknowledgement with a comment (required); alarms raised by an event can be cleared. Below, the
// history of the last 24 hours, filterable by severity, loaded when opened. The sound toggle lives
// here, beside the lists it is about.

import type { Alarm, AlarmSeverity } from '../api-types.js';
import { EVENT_RULES } from '../alarms/alarm-list.js';
import type { Formatters } from '../format.js';
import { isMessageKey, type Lang, type Translate } from '../i18n.js';
import { h, setText } from './dom.js';

export interface AlarmsPanelView {
  readonly element: HTMLElement;
  setAlarms(open: readonly Alarm[], nowMs: number): void;
  /** The history section's list; null while loading or failed. */
  setHistory(alarms: readonly Alarm[] | null, failed?: boolean): void;
  /** Ages move on without new data. */
  refresh(nowMs: number): void;
  setMuted(muted: boolean): void;
  setLanguage(lang: Lang, t: Translate, fmt: Formatters, timeZone: string): void;
  /** Closes the form of an alarm once the cloud has taken its acknowledgement or clear. */
  closeForm(alarmId: string): void;
}

export interface AlarmsPanelOptions {
  onSelect: (alarm: Alarm) => void;
  onAcknowledge: (alarm: Alarm, comment: string) => void;
  onClear: (alarm: Alarm, comment: string) => void;
  onToggleMute: () => void;
  /** The history section was opened or its filter changed. */
  onHistory: (severity: AlarmSeverity | '') => void;
  sourceName: (alarm: Alarm) => string;
}

const SEVERITY_KEY = { critical: 'severity.CRITICAL', warning: 'severity.WARNING', info: 'severity.INFO' } as const;

export function alarmRuleLabel(rule: string, t: Translate): string {
  const key = `alarmRule.${rule}`;
  return isMessageKey(key) ? t(key) : rule;
}

export function createAlarmsPanel(o: AlarmsPanelOptions): AlarmsPanelView {
  const heading = h('h2', { class: 'panel-heading', id: 'alarms-heading' });
  const mute = h('button', { type: 'button', class: 'button alarm-mute', 'data-testid': 'alarm-mute', 'aria-pressed': 'false' });
  mute.addEventListener('click', o.onToggleMute);
  const activeHeading = h('h3', { class: 'alarms__subheading', id: 'alarms-active-heading' });
  const activeEmpty = h('p', { class: 'alarms__status' });
  const activeList = h('ol', { class: 'alarms', 'data-testid': 'alarms-active', 'aria-labelledby': 'alarms-active-heading' });
  const ackHeading = h('h3', { class: 'alarms__subheading', id: 'alarms-ack-heading' });
  const ackEmpty = h('p', { class: 'alarms__status' });
  const ackList = h('ol', { class: 'alarms', 'data-testid': 'alarms-acknowledged', 'aria-labelledby': 'alarms-ack-heading' });
  const historySummary = h('summary', { class: 'alarms__subheading' });
  const historyFilterLabel = h('label', { for: 'alarms-history-severity', class: 'events__filter-label' });
  const historyFilter = h('select', { id: 'alarms-history-severity', class: 'events__filter', 'data-testid': 'alarms-history-severity' });
  const historyStatus = h('p', { class: 'alarms__status' });
  const historyList = h('ol', { class: 'alarms', 'data-testid': 'alarms-history' });
  const history = h(
    'details',
    { class: 'alarms__history', 'data-testid': 'alarms-history-section' },
    historySummary,
    h('div', { class: 'panel-heading-row' }, h('span', { class: 'header-spacer' }), historyFilterLabel, historyFilter),
    historyStatus,
    historyList,
  );
  history.addEventListener('toggle', () => {
    if (history.open) o.onHistory(historyFilter.value as AlarmSeverity | '');
  });
  historyFilter.addEventListener('change', () => o.onHistory(historyFilter.value as AlarmSeverity | ''));
  const element = h(
    'section',
    { class: 'alarms-section', 'data-testid': 'alarms-section' },
    h('div', { class: 'panel-heading-row' }, heading, h('span', { class: 'header-spacer' }), mute),
    activeHeading,
    activeEmpty,
    activeList,
    ackHeading,
    ackEmpty,
    ackList,
    history,
  );

  let open: readonly Alarm[] = [];
  let historyAlarms: readonly Alarm[] | null = null;
  let historyFailed = false;
  let nowMs = Date.now();
  let t: Translate = (k) => k;
  let fmt: Formatters | null = null;
  let zone = 'Asia/Tokyo';
  let muted = false;
  /** The alarm whose form is open, what it does, and the comment typed so far (kept across redraws). */
  let form: { id: string; action: 'ack' | 'clear'; comment: string; error: boolean } | null = null;

  /** The line of each drawn row that holds its age, redrawn in place once a second. */
  let metas: { el: HTMLElement; alarm: Alarm }[] = [];

  function metaText(alarm: Alarm): string {
    const f = fmt!;
    return [
      o.sourceName(alarm),
      t('alarms.raised', { age: f.age(nowMs - alarm.raisedTsMs) }),
      t('alarms.count', { count: f.integer(alarm.count) }),
      alarm.escalations > 0 ? t('alarms.escalated', { count: f.integer(alarm.escalations) }) : null,
      alarm.worstValue !== null && alarm.unit ? t('alarms.worst', { value: f.withUnit(alarm.worstValue, alarm.unit, 1) }) : null,
    ]
      .filter(Boolean)
      .join(' · ');
  }

  function row(alarm: Alarm, withActions: boolean): HTMLLIElement {
    const f = fmt!;
    const rule = alarmRuleLabel(alarm.rule, t);
    const source = o.sourceName(alarm);
    const meta = h('span', { class: 'event__line event__meta', 'data-testid': 'alarm-meta' }, metaText(alarm));
    metas.push({ el: meta, alarm });
    const lines: HTMLElement[] = [
      h(
        'span',
        { class: 'event__line' },
        h(
          'span',
          { class: `event__severity severity-${alarm.severity}`, 'data-testid': 'alarm-severity' },
          t(SEVERITY_KEY[alarm.severity]),
        ),
        h('strong', { 'data-testid': 'alarm-rule' }, rule),
        h('span', { class: `alarm__state is-${alarm.state}`, 'data-testid': 'alarm-state' }, t(`alarmState.${alarm.state}`)),
      ),
      meta,
    ];
    if (alarm.state === 'acknowledged' && alarm.acknowledgeComment !== null) {
      lines.push(
        h(
          'span',
          { class: 'event__detail', 'data-testid': 'alarm-ack-comment' },
          t('alarms.ackBy', {
            by: alarm.acknowledgedBy ?? '—',
            time: alarm.acknowledgedAtMs ? f.clock(alarm.acknowledgedAtMs, zone) : '',
            comment: alarm.acknowledgeComment,
          }),
        ),
      );
    }
    const main = h(
      'button',
      {
        type: 'button',
        class: `event alarm is-${alarm.severity}`,
        'data-testid': 'alarm-row',
        'data-alarm-id': alarm.id,
        'data-source': alarm.source,
        title: t('alarms.show', { rule, source }),
      },
      ...lines,
    );
    main.addEventListener('click', () => o.onSelect(alarm));
    const item = h('li', { class: 'alarm-item' }, main);
    if (!withActions) return item;
    const actions = h('div', { class: 'alarm__actions' });
    if (alarm.state === 'active') actions.append(actionButton(alarm, 'ack'));
    if (EVENT_RULES.has(alarm.rule)) actions.append(actionButton(alarm, 'clear'));
    if (actions.childElementCount) item.append(actions);
    if (form?.id === alarm.id) item.append(formFor(alarm, form.action));
    return item;
  }

  function actionButton(alarm: Alarm, action: 'ack' | 'clear'): HTMLButtonElement {
    const button = h(
      'button',
      { type: 'button', class: 'button alarm__action', 'data-testid': action === 'ack' ? 'alarm-ack' : 'alarm-clear' },
      t(action === 'ack' ? 'alarms.acknowledge' : 'alarms.clear'),
    );
    button.addEventListener('click', () => {
      form = form?.id === alarm.id && form.action === action ? null : { id: alarm.id, action, comment: '', error: false };
      render();
      element.querySelector<HTMLTextAreaElement>('[data-testid="alarm-comment"]')?.focus();
    });
    return button;
  }

  function formFor(alarm: Alarm, action: 'ack' | 'clear'): HTMLFormElement {
    const required = action === 'ack';
    const id = `alarm-comment-${action}`;
    const comment = h('textarea', {
      id,
      class: 'alarm-form__comment',
      rows: 2,
      maxlength: 500,
      required,
      'data-testid': 'alarm-comment',
    });
    comment.value = form!.comment;
    comment.addEventListener('input', () => {
      form!.comment = comment.value;
      if (form!.error && comment.value.trim()) {
        form!.error = false;
        error.hidden = true;
      }
    });
    const error = h(
      'p',
      { class: 'alarm-form__error', 'data-testid': 'alarm-comment-error', hidden: !form!.error },
      t('alarms.commentRequired'),
    );
    const cancel = h('button', { type: 'button', class: 'button alarm__action' }, t('alarms.cancel'));
    cancel.addEventListener('click', () => {
      form = null;
      render();
    });
    const el = h(
      'form',
      { class: 'alarm-form', 'data-testid': 'alarm-form', novalidate: true },
      h('label', { for: id, class: 'alarm-form__label' }, t(required ? 'alarms.comment' : 'alarms.commentOptional')),
      comment,
      error,
      h(
        'div',
        { class: 'alarm__actions' },
        h(
          'button',
          { type: 'submit', class: 'button button--primary alarm__action', 'data-testid': 'alarm-submit' },
          t(required ? 'alarms.submitAck' : 'alarms.submitClear'),
        ),
        cancel,
      ),
    );
    el.addEventListener('submit', (event) => {
      event.preventDefault();
      const text = comment.value.trim();
      if (required && !text) {
        form!.error = true;
        error.hidden = false;
        comment.focus();
        return;
      }
      if (required) o.onAcknowledge(alarm, text);
      else o.onClear(alarm, text);
    });
    return el;
  }

  function render(): void {
    if (!fmt) return;
    const active = open.filter((a) => a.state === 'active');
    const acknowledged = open.filter((a) => a.state === 'acknowledged');
    // A form whose alarm left the active list (acknowledged elsewhere, cleared) closes.
    if (form && !open.some((a) => a.id === form!.id && (form!.action === 'clear' || a.state === 'active'))) form = null;
    // Rows are drawn anew: the element that had focus (a row, a button, the comment) gets it back.
    const active0 = document.activeElement;
    const focused = element.contains(active0)
      ? {
          testid: active0?.getAttribute('data-testid'),
          id: active0?.closest('li')?.querySelector('[data-alarm-id]')?.getAttribute('data-alarm-id'),
        }
      : null;
    metas = [];
    setText(activeHeading, t('alarms.active', { count: active.length }));
    setText(ackHeading, t('alarms.acknowledgedList', { count: acknowledged.length }));
    setText(activeEmpty, active.length ? '' : t('alarms.noneActive'));
    activeEmpty.hidden = active.length > 0;
    setText(ackEmpty, acknowledged.length ? '' : t('alarms.noneAcknowledged'));
    ackEmpty.hidden = acknowledged.length > 0;
    activeList.replaceChildren(...active.map((a) => row(a, true)));
    ackList.replaceChildren(...acknowledged.map((a) => row(a, true)));
    renderHistory();
    if (focused?.testid && focused.id) {
      const item = element.querySelector(`[data-alarm-id="${CSS.escape(focused.id)}"]`)?.closest('li');
      item?.querySelector<HTMLElement>(`[data-testid="${focused.testid}"]`)?.focus();
    }
  }

  function renderHistory(): void {
    if (!fmt) return;
    metas = metas.filter((m) => !historyList.contains(m.el));
    setText(historyStatus, historyFailed ? t('alarms.historyError') : historyAlarms?.length === 0 ? t('alarms.historyEmpty') : '');
    historyStatus.hidden = !historyStatus.textContent;
    historyList.replaceChildren(...(historyAlarms ?? []).map((a) => row(a, false)));
  }

  function renderStatic(): void {
    setText(heading, t('alarms.title'));
    setText(mute, t(muted ? 'alarms.soundOff' : 'alarms.soundOn'));
    mute.setAttribute('aria-pressed', String(muted));
    mute.title = t(muted ? 'alarms.unmute' : 'alarms.mute');
    setText(historySummary, t('alarms.history'));
    setText(historyFilterLabel, t('alarms.severity'));
    const value = historyFilter.value;
    historyFilter.replaceChildren(
      h('option', { value: '' }, t('events.all')),
      ...(['critical', 'warning', 'info'] as const).map((s) => h('option', { value: s }, t(SEVERITY_KEY[s]))),
    );
    historyFilter.value = value;
  }

  return {
    element,
    setAlarms(next, now) {
      open = next;
      nowMs = now;
      render();
    },
    setHistory(next, didFail = false) {
      historyAlarms = next;
      historyFailed = didFail;
      renderHistory();
    },
    refresh(now) {
      nowMs = now;
      if (fmt) for (const m of metas) setText(m.el, metaText(m.alarm));
    },
    setMuted(next) {
      muted = next;
      renderStatic();
    },
    setLanguage(_lang, nextT, nextFmt, timeZone) {
      t = nextT;
      fmt = nextFmt;
      zone = timeZone;
      renderStatic();
      render();
    },
    closeForm(alarmId) {
      if (form?.id !== alarmId) return;
      form = null;
      render();
    },
  };
}
