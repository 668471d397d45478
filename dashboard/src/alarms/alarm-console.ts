// The alarm console's data: the open alarms of the pilot shown (operators), or their count (a
// viewer of a pilot that opted in). Live changes arrive on the vehicle feed's WebSocket; each time
// the socket (re)opens the list is fetched again, since changes made while it was down were never
// sent; while it is down (or in replay, where the feed is off) the console polls, as the vehicle
// feed does. Acknowledge and clear go to the API; their answers update the list at once.

import type { MichiApi } from '../api.js';
import type { Alarm, AlarmCounts, LiveAlarmMessage, PilotDetail, Role } from '../api-types.js';
import type { AppStateReader, AppStateWriter, BannerState } from '../app-state.js';
import { ApiError, isAbort } from '../errors.js';
import { pollLoop, type PollLoop } from '../live/poll-loop.js';
import type { FeedTransport } from '../live/vehicle-feed.js';
import { criticalsToCue, sortAlarms, upsertAlarm } from './alarm-list.js';

/** How often the console asks while the live feed is down; a new alarm shows within this (plus the answer). */
export const ALARM_POLL_MS = 2000;

export interface AlarmConsoleDeps {
  state: AppStateReader;
  writer: AppStateWriter<'alarm-console'>;
  api: MichiApi;
  role: () => Role;
  reportError: (err: unknown) => void;
  setBanner: (next: BannerState) => void;
  /**
   * Critical alarms that were not open before, or were escalated again while nobody acknowledged
   * them: the cue (sound and flash). Not called for the first list of a pilot.
   */
  onNewCritical: (ids: readonly string[]) => void;
  pollMs?: number;
}

export interface AlarmConsole {
  /** A message of the live feed about alarms. */
  feedMessage(msg: LiveAlarmMessage): void;
  /** The live feed's transport; 'off' when it is stopped (replay, another pilot). */
  feedTransport(transport: FeedTransport | 'off'): void;
  /** True when the cloud acknowledged it; a refusal is shown in the banner. */
  acknowledge(alarmId: string, comment: string): Promise<boolean>;
  clear(alarmId: string, comment?: string): Promise<boolean>;
  stop(): void;
}

type Audience = 'operator' | 'viewer-count' | 'none';

export function createAlarmConsole({
  state,
  writer,
  api,
  role,
  reportError,
  setBanner,
  onNewCritical,
  pollMs = ALARM_POLL_MS,
}: AlarmConsoleDeps): AlarmConsole {
  let audience: Audience = 'none';
  let pilotId: string | null = null;
  let lastChangeId = 0;
  /** False until the first list of this pilot: alarms already open when the page opens are not "new". */
  let primed = false;
  let poller: PollLoop | null = null;
  let resync: AbortController | null = null;
  /**
   * Alarms learnt (live, or from an answer) while a fetch was under way: the fetch may have been
   * answered before them, so they are applied again on top of it.
   */
  let sinceFetch: Alarm[] | null = null;

  function audienceOf(pilot: PilotDetail | null): Audience {
    if (!pilot) return 'none';
    if (role() === 'operator') return 'operator';
    // The pilot's seed says whether its municipality may see how many alarms are open (alarms.viewerCount).
    return pilot.alarmViewerCount ? 'viewer-count' : 'none';
  }

  function setOpen(next: readonly Alarm[]): void {
    const previous = state.get('alarms');
    if (next === previous) return;
    writer.set('alarms', next);
    if (!primed) return;
    const calling = criticalsToCue(previous, next);
    if (calling.length) onNewCritical(calling);
  }

  function learn(alarm: Alarm): void {
    sinceFetch?.push(alarm);
    setOpen(upsertAlarm(state.get('alarms'), alarm));
  }

  function fetched(list: readonly Alarm[]): void {
    let next: readonly Alarm[] = sortAlarms(list.filter((a) => a.state !== 'cleared'));
    for (const a of sinceFetch ?? []) next = upsertAlarm(next, a);
    sinceFetch = null;
    setOpen(next);
    primed = true;
  }

  function load(signal: AbortSignal): Promise<readonly Alarm[] | AlarmCounts> {
    const id = pilotId!;
    if (audience === 'operator') {
      sinceFetch = [];
      return api.alarms(id, signal);
    }
    return api.alarmCounts(id, signal);
  }

  function received(value: readonly Alarm[] | AlarmCounts): void {
    if (Array.isArray(value)) fetched(value);
    else writer.set('alarmCounts', { ...(value as AlarmCounts) });
  }

  function startPolling(): void {
    if (poller || audience === 'none' || !pilotId) return;
    poller = pollLoop(load, { data: received, error: failed }, pollMs);
  }

  function stopPolling(): void {
    poller?.stop();
    poller = null;
  }

  function failed(err: unknown): void {
    // The cloud away or refusing: the polling loop and the next reconnect try again on their own,
    // and the header's feed status already says so. Anything else is a bug worth reporting.
    if (!isAbort(err) && !(err instanceof ApiError)) reportError(err);
  }

  /** Once, now: the socket has just (re)opened, and changes made while it was down were never sent. */
  function fetchOnce(): void {
    if (audience === 'none' || !pilotId) return;
    resync?.abort();
    const controller = new AbortController();
    resync = controller;
    load(controller.signal)
      .then((value) => {
        if (!controller.signal.aborted) received(value);
      })
      .catch(failed);
  }

  function reset(pilot: PilotDetail | null): void {
    stopPolling();
    resync?.abort();
    resync = null;
    sinceFetch = null;
    primed = false;
    lastChangeId = 0;
    pilotId = pilot?.id ?? null;
    audience = audienceOf(pilot);
    writer.set('alarms', []);
    writer.set('alarmCounts', audience === 'viewer-count' ? { critical: 0, warning: 0, info: 0 } : null);
    // Until the live feed says its socket is open, ask the API; the first answer fills the list.
    startPolling();
  }

  state.subscribe('pilot', reset);
  state.subscribe('me', () => reset(state.get('pilot')));

  return {
    feedMessage(msg) {
      if (msg.type === 'alarm' && audience === 'operator' && msg.change.alarm.pilot === pilotId) {
        if (msg.change.changeId <= lastChangeId) return;
        lastChangeId = msg.change.changeId;
        learn(msg.change.alarm);
      } else if (msg.type === 'alarm-count' && audience === 'viewer-count') {
        writer.set('alarmCounts', { critical: msg.critical, warning: msg.warning, info: msg.info });
      }
    },
    feedTransport(transport) {
      if (transport === 'websocket') {
        stopPolling();
        fetchOnce();
      } else startPolling();
    },
    async acknowledge(alarmId, comment) {
      return act('alarms.ackFailed', () => api.acknowledgeAlarm(pilotId!, alarmId, comment));
    },
    async clear(alarmId, comment) {
      return act('alarms.clearFailed', () => api.clearAlarm(pilotId!, alarmId, comment));
    },
    stop() {
      stopPolling();
      resync?.abort();
    },
  };

  async function act(failKey: 'alarms.ackFailed' | 'alarms.clearFailed', call: () => Promise<Alarm>): Promise<boolean> {
    if (audience !== 'operator' || !pilotId) return false;
    const forPilot = pilotId;
    try {
      const alarm = await call();
      if (pilotId === forPilot) learn(alarm);
      const banner = state.get('banner')?.key;
      if (banner === 'alarms.ackFailed' || banner === 'alarms.clearFailed') setBanner(null);
      return true;
    } catch (err) {
      const message = err instanceof ApiError ? err.detail : err instanceof Error ? err.message : String(err);
      setBanner({ key: failKey, params: { message }, tone: 'error' });
      return false;
    }
  }
}
