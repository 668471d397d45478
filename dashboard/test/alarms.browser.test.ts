/// <reference lib="dom" />
// The operator's alarm console in Chromium against the real stack: a bus that enters a
// minimal-risk stop (its gateway relays the state, as a vehicle would send it) shows in the header
// and the Alarms tab within 2 s of its reading, with a flash and a beep; selecting it flies the map
// to the bus and opens its panel; the operator acknowledges it with a comment, it leaves the active
// list and the cloud's audit log has the line. Once in Japanese and once in English. A viewer of a
// pilot that opted in to the count sees only the count. On a pilot that escalates after a few
// seconds, an alarm nobody acknowledges flashes and beeps again at each escalation, and only
// flashes once the sound is muted. Screenshots of each step go to .run/screenshots/ (the ones in
// docs/screenshots/ are copies of them).
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readingTopic } from '@michi/proto';
import { MqttPublisher } from '@michi/simulators';
import { MESSAGES, type Lang } from '../src/i18n.js';
import { launchChromium, startStack, waitFor, type TestStack } from '../../scripts/test-support/index.js';
import { apiGet, driveFleet, visibleText } from './support.js';

const PILOT = 'maebashi-l4-bus';
const SHOTS = '.run/screenshots';
const JAPANESE = /[\u3040-\u30ff\u3400-\u9fff\uff00-\uffef]/;
const MODE_AUTONOMOUS = 2;
const MODE_MINIMAL_RISK = 5;

interface ApiAlarm {
  id: string;
  source: string;
  rule: string;
  severity: string;
  state: string;
  acknowledgeComment: string | null;
}

interface Cues {
  flashes: number;
  beeps: number;
}

/** A copy of the seeds with the bus pilot's `alarms` section extended by `alarms`. */
function seedsWith(alarms: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'michi-alarm-console-seeds-'));
  cpSync('seeds', dir, { recursive: true, filter: (src) => !src.endsWith('.test.ts') });
  const file = join(dir, `${PILOT}.json`);
  const pilot = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  pilot['alarms'] = { ...((pilot['alarms'] as object | undefined) ?? {}), ...alarms };
  writeFileSync(file, JSON.stringify(pilot));
  return dir;
}

/**
 * The stack for one describe, on its own seeds: two buses stand at stops reporting the mode a case
 * sets, every second, as their gateway relays it; the rest of the fleet drives its route (so no
 * gateway falls silent); Chromium with an operator's page on the Alarms tab, counting its beeps.
 */
class ConsoleStack {
  stack!: TestStack;
  browser!: Browser;
  context!: BrowserContext;
  page!: Page;
  /** Buses the test drives itself, and the mode each reports every second. */
  readonly modes = new Map<string, number>();
  readonly problems: string[] = [];
  private publisher!: MqttPublisher;
  private readonly stopFleet = new AbortController();
  private fleet: Promise<unknown> | undefined;
  private seq = 1;
  private driving: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly seedsDir: string) {}

  async start(): Promise<void> {
    if (!existsSync('dashboard/dist/index.html'))
      throw new Error('dashboard/dist is missing: run `npm run build -w @michi/dashboard` first');
    mkdirSync(SHOTS, { recursive: true });
    const stack = (this.stack = await startStack({ pilotId: PILOT, seedsDir: this.seedsDir }));
    const [first, second, ...rest] = stack.pilot.vehicles;
    this.publisher = await MqttPublisher.open({
      pilotId: PILOT,
      gatewayUrls: new Map(Object.entries(stack.gatewayUrls)),
      deviceKeys: new Map(Object.entries(stack.deviceKeys)),
      clientIdPrefix: 'alarm-console',
      logger: pino({ level: 'silent' }),
    });
    for (const bus of [first!, second!]) this.modes.set(bus.id, MODE_AUTONOMOUS);
    this.driving = setInterval(() => {
      for (const id of this.modes.keys()) this.report(id);
    }, 1000);
    this.fleet = driveFleet(stack, {
      pilot: { ...stack.pilot, vehicles: rest, sensors: [] },
      kinds: ['state', 'link'],
      signal: this.stopFleet.signal,
    });
    this.browser = await launchChromium();
    this.context = await this.browser.newContext({ viewport: { width: 1280, height: 800 } });
    // Counts the beeps: every one starts oscillators on an AudioContext (no sound file).
    await this.context.addInitScript(() => {
      const w = window as unknown as { __oscillators: number };
      w.__oscillators = 0;
      const create = AudioContext.prototype.createOscillator;
      AudioContext.prototype.createOscillator = function (this: AudioContext) {
        w.__oscillators += 1;
        return create.call(this);
      };
    });
    const page = (this.page = await this.context.newPage());
    page.on('console', (m) => {
      if (m.type() === 'error') this.problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => this.problems.push(`page error: ${e.message}`));
    await page.goto(`${stack.cloud.url}/?pilot=${PILOT}#token=${stack.tokens.operator}`);
    await waitFor(async () => (await page.locator('[data-testid="feed-status"]').getAttribute('data-transport')) === 'websocket', {
      timeoutMs: 30_000,
      what: 'the live feed on the WebSocket',
    });
    // A click: browsers let an AudioContext play only after the person has interacted with the page.
    await page.locator('[data-testid="tab-alarms"]').click();
  }

  async close(): Promise<void> {
    if (this.driving) clearInterval(this.driving);
    this.stopFleet.abort();
    await this.fleet?.catch(() => undefined);
    await this.publisher?.close().catch(() => undefined);
    await this.browser?.close();
    await this.stack?.close();
    rmSync(this.seedsDir, { recursive: true, force: true });
  }

  /** How many flashes of the header counter and beeps the page has made so far. */
  async cues(): Promise<Cues> {
    const flashes = Number((await this.page.locator('[data-testid="alarm-counter"]').getAttribute('data-flashes')) ?? 0);
    const beeps = await this.page.evaluate(() => (window as unknown as { __oscillators: number }).__oscillators);
    return { flashes, beeps };
  }

  /** The bus's open minimal-risk alarm, from the API. */
  async openAlarmOf(busId: string): Promise<ApiAlarm | undefined> {
    const { alarms } = await apiGet<{ alarms: ApiAlarm[] }>(this.stack, `/pilots/${PILOT}/alarms`, this.stack.tokens.operator);
    return alarms.find((a) => a.source === busId && a.rule === 'minimal-risk');
  }

  /** One state of `busId` standing at a stop, as its gateway relays it; returns its source time. */
  report(busId: string): number {
    const { stack, publisher, modes } = this;
    const bus = stack.pilot.vehicles.find((v) => v.id === busId)!;
    // Each at a stop of its own, so that neither marker hides the other.
    const [lon, lat] = stack.pilot.stops[stack.pilot.vehicles.indexOf(bus)]!.position;
    const ts = Date.now();
    publisher.publish({
      kind: 'state',
      pilotId: PILOT,
      gatewayId: bus.gatewayId,
      sourceId: busId,
      topic: readingTopic(PILOT, bus.gatewayId, busId, 'state'),
      body: { source_id: busId, ts_ms: ts, seq: this.seq++, position: { lat, lon }, speed_mps: 0, heading_deg: 0, mode: modes.get(busId)! },
    });
    return ts;
  }

  /** An emergency stop of `busId` (EVENT_TYPE_EMERGENCY_STOP, SEVERITY_CRITICAL), as its gateway relays it. */
  emergencyStop(busId: string): number {
    const bus = this.stack.pilot.vehicles.find((v) => v.id === busId)!;
    const ts = Date.now();
    this.publisher.publish({
      kind: 'event',
      pilotId: PILOT,
      gatewayId: bus.gatewayId,
      sourceId: busId,
      topic: readingTopic(PILOT, bus.gatewayId, busId, 'event'),
      body: { source_id: busId, ts_ms: ts, seq: this.seq++, type: 3, severity: 3, detail: 'emergency stop button pressed' },
    });
    return ts;
  }
}

describe('the alarm console in Chromium against the live stack', () => {
  const env = new ConsoleStack(seedsWith({ viewerCount: true }));
  let stack: TestStack;
  let browser: Browser;
  let page: Page;
  const report = (busId: string) => env.report(busId);
  const emergencyStop = (busId: string) => env.emergencyStop(busId);
  const openAlarmOf = (busId: string) => env.openAlarmOf(busId);

  /** The cloud's audit log, one entry per line. */
  function auditEntries(): Record<string, unknown>[] {
    return readFileSync(stack.auditFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  beforeAll(async () => {
    await env.start();
    ({ stack, browser, page } = env);
  });
  afterAll(() => env.close());

  /** Puts `busId` in a minimal-risk stop and returns when the page showed it, in ms after the reading. */
  async function raiseAndTime(busId: string): Promise<{ counterMs: number; rowMs: number }> {
    // Watches the page itself, so the figures are not the test's polling interval.
    await page.evaluate((source) => {
      const w = window as unknown as { __seen: { counter?: number; row?: number } };
      w.__seen = {};
      const counter = document.querySelector('[data-testid="alarm-counter-critical"]')!;
      const before = Number(counter.textContent);
      const check = () => {
        const now = Date.now();
        if (w.__seen.counter === undefined && Number(counter.textContent) > before) w.__seen.counter = now;
        if (
          w.__seen.row === undefined &&
          document.querySelector(`[data-testid="alarms-active"] [data-testid="alarm-row"][data-source="${source}"]`)
        )
          w.__seen.row = now;
        if (w.__seen.counter !== undefined && w.__seen.row !== undefined) observer.disconnect();
      };
      const observer = new MutationObserver(check);
      observer.observe(document.body, { subtree: true, childList: true, characterData: true });
    }, busId);
    env.modes.set(busId, MODE_MINIMAL_RISK);
    const ts = report(busId);
    const seen = await waitFor(
      () =>
        page.evaluate(() => {
          const s = (window as unknown as { __seen: { counter?: number; row?: number } }).__seen;
          return s.counter !== undefined && s.row !== undefined ? s : undefined;
        }),
      { timeoutMs: 10_000, what: `the minimal-risk alarm of ${busId} in the header and the list` },
    );
    return { counterMs: seen.counter! - ts, rowMs: seen.row! - ts };
  }

  async function acknowledgeFlow(lang: Lang, busId: string): Promise<void> {
    const t = MESSAGES[lang];
    const bus = stack.pilot.vehicles.find((v) => v.id === busId)!;
    // The panel of the bus of the case before closes: the screenshot shows the list and the map.
    const close = page.locator('[data-testid="vehicle-detail-close"]');
    if (await close.isVisible()) await close.click();
    const before = await env.cues();

    const { counterMs, rowMs } = await raiseAndTime(busId);
    expect(counterMs, 'header counter within 2 s of the reading').toBeLessThanOrEqual(2000);
    expect(rowMs, 'row in the active list within 2 s of the reading').toBeLessThanOrEqual(2000);
    const counter = page.locator('[data-testid="alarm-counter"]');
    await expect(counter.getAttribute('class')).resolves.toContain('is-alert');
    const after = await env.cues();
    expect(after.flashes).toBe(before.flashes + 1);
    expect(after.beeps).toBeGreaterThan(before.beeps);

    const alarm = (await openAlarmOf(busId))!;
    expect(alarm).toMatchObject({ severity: 'critical', state: 'active' });
    const row = page.locator(`[data-testid="alarms-active"] [data-testid="alarm-row"][data-alarm-id="${alarm.id}"]`);
    await expect(row.locator('[data-testid="alarm-rule"]').textContent()).resolves.toBe(t['alarmRule.minimal-risk']);
    await expect(row.locator('[data-testid="alarm-severity"]').textContent()).resolves.toBe(t['severity.CRITICAL']);
    await expect(row.locator('[data-testid="alarm-state"]').textContent()).resolves.toBe(t['alarmState.active']);
    await expect(row.locator('[data-testid="alarm-meta"]').textContent()).resolves.toContain(bus.name[lang]);
    // After the flash (three 0.5 s pulses): the steady red counter.
    await waitFor(async () => !(await counter.getAttribute('class'))?.includes('is-flashing'), { what: 'the flash to end' });
    await page.screenshot({ path: `${SHOTS}/alarms-tab-${lang}.png` });

    // Selecting it flies to the bus and opens its panel.
    await row.click();
    const panel = page.locator('[data-testid="vehicle-detail"]');
    await panel.waitFor({ state: 'visible', timeout: 5000 });
    await expect(panel.locator('h2').textContent()).resolves.toBe(bus.name[lang]);
    await waitFor(
      async () => {
        const box = await page.locator(`[data-testid="vehicle-marker"][data-vehicle-id="${busId}"]`).boundingBox();
        const map = await page.locator('[data-testid="map"]').boundingBox();
        // The fly-to ends with the bus in the middle of the map.
        return (
          !!box &&
          !!map &&
          Math.abs(box.x + box.width / 2 - (map.x + map.width / 2)) < 40 &&
          Math.abs(box.y + box.height / 2 - (map.y + map.height / 2)) < 40
        );
      },
      { timeoutMs: 10_000, what: `${busId} in the middle of the map` },
    );

    // Acknowledge: a comment is required; an empty one asks for it and sends nothing.
    const item = page.locator('[data-testid="alarms-active"] li', {
      has: page.locator(`[data-testid="alarm-row"][data-alarm-id="${alarm.id}"]`),
    });
    await item.locator('[data-testid="alarm-ack"]').click();
    const form = item.locator('[data-testid="alarm-form"]');
    await form.waitFor({ state: 'visible' });
    await form.locator('[data-testid="alarm-submit"]').click();
    await expect(form.locator('[data-testid="alarm-comment-error"]').isVisible()).resolves.toBe(true);
    await expect(form.locator('[data-testid="alarm-comment-error"]').textContent()).resolves.toBe(t['alarms.commentRequired']);
    expect((await openAlarmOf(busId))?.state).toBe('active');
    const comment = lang === 'ja' ? '運転士に連絡済み、現地確認へ' : 'Called the safety driver, on site in 10 min';
    await form.locator('[data-testid="alarm-comment"]').fill(comment);
    if (lang === 'en') await page.screenshot({ path: `${SHOTS}/alarm-ack-form-en.png` });
    await form.locator('[data-testid="alarm-submit"]').click();

    // It leaves the active list for the acknowledged one, with who and the comment.
    await row.waitFor({ state: 'detached', timeout: 5000 });
    const acked = page.locator(`[data-testid="alarms-acknowledged"] [data-testid="alarm-row"][data-alarm-id="${alarm.id}"]`);
    await acked.waitFor({ state: 'visible', timeout: 5000 });
    await expect(acked.locator('[data-testid="alarm-state"]').textContent()).resolves.toBe(t['alarmState.acknowledged']);
    await expect(acked.locator('[data-testid="alarm-ack-comment"]').textContent()).resolves.toContain(comment);
    await expect(page.locator('[data-testid="banner"]').isVisible()).resolves.toBe(false);
    expect(await openAlarmOf(busId)).toMatchObject({ state: 'acknowledged', acknowledgeComment: comment });

    // The cloud's audit log: who acknowledged which alarm, with the comment.
    const line = await waitFor(() => auditEntries().find((e) => e['action'] === 'alarm.acknowledge' && e['alarm'] === alarm.id), {
      timeoutMs: 5000,
      what: 'the audit line of the acknowledgement',
    });
    expect(line).toMatchObject({ token: 'stack-operator', role: 'operator', method: 'POST', pilot: PILOT, status: 200, comment });
  }

  it('in Japanese: a bus in a minimal-risk stop is in the header within 2 s, acknowledged with a comment, audited', async () => {
    await acknowledgeFlow('ja', stack.pilot.vehicles[0]!.id);
  });

  it('in English: the same for another bus, every word in English', async () => {
    await page.locator('[data-testid="lang-toggle"]').click();
    await waitFor(async () => (await page.locator('[data-testid="tab-alarms"]').textContent()) === MESSAGES.en['tab.alarms'], {
      what: 'the English page',
    });
    await acknowledgeFlow('en', stack.pilot.vehicles[1]!.id);
    const text = await page.locator('[data-testid="alarms-section"]').evaluate((el) => (el as HTMLElement).innerText);
    // Vehicle names are the pilot's, in English too; the comments are the operators' own words.
    const ownWords = text
      .split('\n')
      .filter((l) => !l.includes('運転士'))
      .join('\n');
    expect(ownWords).not.toMatch(JAPANESE);
    expect(await visibleText(page)).toContain(MESSAGES.en['alarms.title']);
  });

  it('remembers the mute toggle across a reload', async () => {
    const mute = page.locator('[data-testid="alarm-mute"]');
    await expect(mute.getAttribute('aria-pressed')).resolves.toBe('false');
    await mute.click();
    await expect(mute.getAttribute('aria-pressed')).resolves.toBe('true');
    await page.reload();
    await page.locator('[data-testid="tab-alarms"]').click();
    await expect(page.locator('[data-testid="alarm-mute"]').getAttribute('aria-pressed')).resolves.toBe('true');
    // The open list is fetched again, the acknowledged alarms among it.
    await waitFor(async () => (await page.locator('[data-testid="alarms-acknowledged"] [data-testid="alarm-row"]').count()) >= 2, {
      what: 'the acknowledged alarms after a reload',
    });
  });

  it('clears an emergency stop (an event alarm) without a comment, and finds it in the history as cleared', async () => {
    const t = MESSAGES.en;
    const bus = stack.pilot.vehicles[0]!;
    emergencyStop(bus.id);
    const alarm = await waitFor(
      async () => {
        const { alarms } = await apiGet<{ alarms: ApiAlarm[] }>(stack, `/pilots/${PILOT}/alarms`, stack.tokens.operator);
        return alarms.find((a) => a.source === bus.id && a.rule === 'emergency-stop');
      },
      { timeoutMs: 10_000, what: 'the emergency-stop alarm' },
    );
    const rowOf = (id: string) => page.locator(`[data-testid="alarm-row"][data-alarm-id="${id}"]`);
    const item = page.locator('[data-testid="alarms-active"] li', { has: rowOf(alarm.id) });
    await item.waitFor({ state: 'visible', timeout: 5000 });
    await expect(item.locator('[data-testid="alarm-rule"]').textContent()).resolves.toBe(t['alarmRule.emergency-stop']);
    // A minimal-risk stop ends only with its condition: it offers no clear.
    const mrm = page.locator('[data-testid="alarms-acknowledged"] li', { has: page.locator(`[data-source="${bus.id}"]`) });
    await expect(mrm.count()).resolves.toBe(1);
    await expect(mrm.locator('[data-testid="alarm-clear"]').count()).resolves.toBe(0);

    await item.locator('[data-testid="alarm-clear"]').click();
    await item.locator('[data-testid="alarm-submit"]').click();
    await rowOf(alarm.id).waitFor({ state: 'detached', timeout: 5000 });
    const { alarms } = await apiGet<{ alarms: ApiAlarm[] }>(stack, `/pilots/${PILOT}/alarms`, stack.tokens.operator);
    expect(alarms.some((a) => a.id === alarm.id)).toBe(false);
    await waitFor(() => auditEntries().some((e) => e['action'] === 'alarm.clear' && e['alarm'] === alarm.id && e['status'] === 200), {
      timeoutMs: 5000,
      what: 'the audit line of the clear',
    });

    // The history of the last 24 hours has it, cleared; the severity filter keeps it under "critical" only.
    await page.locator('[data-testid="alarms-history-section"] summary').click();
    const inHistory = page.locator(`[data-testid="alarms-history"] [data-alarm-id="${alarm.id}"]`);
    await inHistory.waitFor({ state: 'visible', timeout: 5000 });
    await expect(inHistory.locator('[data-testid="alarm-state"]').textContent()).resolves.toBe(t['alarmState.cleared']);
    await page.locator('[data-testid="alarms-history-severity"]').selectOption('warning');
    await inHistory.waitFor({ state: 'detached', timeout: 5000 });
    await page.locator('[data-testid="alarms-history-severity"]').selectOption('critical');
    await inHistory.waitFor({ state: 'visible', timeout: 5000 });
  });

  it('with the live feed down, polls: a new alarm still reaches the page within two polls', async () => {
    const polling = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    // The live feed's socket is refused (as a proxy without WebSocket support would): the page polls.
    await polling.routeWebSocket(/\/api\/v1\/live/, (ws) => ws.close({ code: 1011, reason: 'no WebSocket here' }));
    const p = await polling.newPage();
    await p.goto(`${stack.cloud.url}/?pilot=${PILOT}#token=${stack.tokens.operator}`);
    await waitFor(async () => (await p.locator('[data-testid="feed-status"]').getAttribute('data-transport')) === 'polling', {
      timeoutMs: 30_000,
      what: 'the page polling',
    });
    await p.locator('[data-testid="tab-alarms"]').click();
    await waitFor(async () => (await p.locator('[data-testid="alarms-acknowledged"] [data-testid="alarm-row"]').count()) >= 2, {
      what: 'the open alarms, polled',
    });
    const bus = stack.pilot.vehicles[1]!;
    const sent = emergencyStop(bus.id);
    const row = p.locator(`[data-testid="alarms-active"] [data-testid="alarm-row"][data-source="${bus.id}"]`);
    await row.waitFor({ state: 'visible', timeout: 10_000 });
    // Polled every 2 s: at most two intervals and an answer.
    expect(Date.now() - sent).toBeLessThan(5000);
    await expect(p.locator('[data-testid="alarm-counter-critical"]').textContent()).resolves.toBe('1');
    await polling.close();
  });

  it('a viewer of a pilot that opted in sees the count in the header and nothing else of alarms', async () => {
    const town = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    await town.goto(`${stack.cloud.url}/?pilot=${PILOT}#token=${stack.tokens.viewer}`);
    const counter = town.locator('[data-testid="alarm-counter"]');
    await counter.waitFor({ state: 'visible', timeout: 30_000 });
    const count = await apiGet<{ critical: number }>(stack, `/pilots/${PILOT}/alarms/count`, stack.tokens.viewer);
    await waitFor(async () => Number(await town.locator('[data-testid="alarm-counter-critical"]').textContent()) === count.critical, {
      what: 'the open critical count in the viewer header',
    });
    expect(count.critical).toBeGreaterThanOrEqual(2);
    await expect(counter.isDisabled()).resolves.toBe(true);
    await expect(town.locator('[data-testid="tab-alarms"]').isVisible()).resolves.toBe(false);
    await expect(town.locator('[data-testid="alarm-row"]').count()).resolves.toBe(0);
    await town.context().close();
  });

  it('left no error in the page', () => {
    expect(env.problems).toEqual([]);
  });
});

describe('an escalated critical alarm in Chromium against the live stack', () => {
  // Escalated every 8 s instead of 5 min: long enough for the checks and screenshots between two.
  const ESCALATE_S = 8;
  const env = new ConsoleStack(seedsWith({ escalateAfterS: ESCALATE_S }));
  beforeAll(() => env.start());
  afterAll(() => env.close());

  /**
   * Waits for the `n`th escalation of the alarm of `row`: the API says so, the page has flashed once
   * more than `before` and the row says how many times, in `lang`. Screenshots it once the flash
   * has ended; returns the page's cues.
   */
  async function escalation(row: Locator, n: number, before: Cues, lang: Lang): Promise<Cues> {
    const { page } = env;
    await waitFor(async () => (await env.cues()).flashes > before.flashes || undefined, {
      timeoutMs: (ESCALATE_S + 5) * 1000,
      what: `the flash of escalation ${n}`,
    });
    const alarm = await env.openAlarmOf(env.stack.pilot.vehicles[0]!.id);
    expect(alarm).toMatchObject({ id: await row.getAttribute('data-alarm-id'), state: 'active', escalations: n });
    const after = await env.cues();
    expect(after.flashes).toBe(before.flashes + 1);
    await expect(row.locator('[data-testid="alarm-meta"]').textContent()).resolves.toContain(
      MESSAGES[lang]['alarms.escalated'].replace('{count}', String(n)),
    );
    await waitFor(async () => !(await page.locator('[data-testid="alarm-counter"]').getAttribute('class'))?.includes('is-flashing'), {
      what: 'the flash to end',
    });
    await page.screenshot({ path: `${SHOTS}/alarm-escalated-${lang}.png` });
    return after;
  }

  it('cues again at each escalation of an unacknowledged critical alarm: flash and beep, only the flash once muted', async () => {
    const { page } = env;
    const bus = env.stack.pilot.vehicles[0]!;
    const start = await env.cues();
    env.modes.set(bus.id, MODE_MINIMAL_RISK);
    env.report(bus.id);
    const alarm = await waitFor(() => env.openAlarmOf(bus.id), { timeoutMs: 10_000, what: 'the minimal-risk alarm' });
    const row = page.locator(`[data-testid="alarms-active"] [data-testid="alarm-row"][data-alarm-id="${alarm.id}"]`);
    await row.waitFor({ state: 'visible', timeout: 5000 });
    await waitFor(async () => (await env.cues()).flashes === start.flashes + 1 || undefined, { what: 'the flash of the new alarm' });
    const raised = await env.cues();
    expect(raised.beeps).toBeGreaterThan(start.beeps);
    await expect(row.locator('[data-testid="alarm-meta"]').textContent()).resolves.not.toContain(
      MESSAGES.ja['alarms.escalated'].replace('{count}', '1'),
    );

    // Nobody acknowledges it: escalated once, the page flashes and beeps again, and says so on the row.
    const first = await escalation(row, 1, raised, 'ja');
    expect(first.beeps).toBeGreaterThan(raised.beeps);

    // Muted, and in English: the next escalation flashes the counter, silently.
    await page.locator('[data-testid="alarm-mute"]').click();
    await expect(page.locator('[data-testid="alarm-mute"]').getAttribute('aria-pressed')).resolves.toBe('true');
    await page.locator('[data-testid="lang-toggle"]').click();
    await waitFor(async () => (await page.locator('[data-testid="tab-alarms"]').textContent()) === MESSAGES.en['tab.alarms'], {
      what: 'the English page',
    });
    const second = await escalation(row, 2, first, 'en');
    expect(second.beeps).toBe(first.beeps);
  });

  it('left no error in the page', () => {
    expect(env.problems).toEqual([]);
  });
});
