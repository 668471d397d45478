/// <reference lib="dom" />
// What a person sees of a vehicle row and marker in each state: live, stale (a bus that stopped
// reporting), selected, in Japanese and English, and in the municipality's view. Text assertions
// passed while a CSS slip drew a stale bus's name as a 12-px dark square (issue 13): these checks
// read the rendered boxes and computed styles, and save a screenshot of each state to
// .run/screenshots/ for a person to look at.
import { existsSync, mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { readingTopic } from '@michi/proto';
import { MqttPublisher } from '@michi/simulators';
import { driveFleet } from './support.js';
import { launchChromium, startStack, waitFor, type TestStack } from '../../scripts/test-support/index.js';

const PILOT = 'maebashi-l4-bus';
const SHOTS = '.run/screenshots';

/** How a row looks: its name's box against the box its text needs, colours, and the mode dot. */
interface RowLook {
  classes: string;
  name: string;
  nameWidth: number;
  nameHeight: number;
  textWidth: number;
  nameBackground: string;
  nameColor: string;
  nameOpacity: number;
  dotOpacity: number;
  dotBackground: string;
}

/** A row by vehicle id, or by its place in the list (the municipality's view hides the ids). */
function rowLook(page: Page, which: string | number): Promise<RowLook> {
  const rowSelector = '[data-testid="vehicle-row"]';
  const row = typeof which === 'number' ? page.locator(rowSelector).nth(which) : page.locator(`${rowSelector}[data-vehicle-id="${which}"]`);
  return row.evaluate((row) => {
    const name = row.querySelector<HTMLElement>('.vehicle-row__name')!;
    const dot = row.querySelector<HTMLElement>('.mode-dot')!;
    const range = document.createRange();
    range.selectNodeContents(name);
    const box = name.getBoundingClientRect();
    const s = getComputedStyle(name);
    const d = getComputedStyle(dot);
    return {
      classes: row.className,
      name: name.innerText,
      nameWidth: box.width,
      nameHeight: box.height,
      textWidth: range.getBoundingClientRect().width,
      nameBackground: s.backgroundColor,
      nameColor: s.color,
      nameOpacity: Number(s.opacity),
      dotOpacity: Number(d.opacity),
      dotBackground: d.backgroundColor,
    };
  });
}

/** The name is drawn as text a person can read: the whole of it inside its box, on no background of its own. */
function expectReadableName(look: RowLook, expected: string): void {
  expect(look.name).toBe(expected);
  expect(look.textWidth, `${expected}: text width`).toBeGreaterThan(20);
  expect(look.nameWidth, `${expected}: the box holds the whole text`).toBeGreaterThanOrEqual(Math.min(look.textWidth, 150) - 1);
  expect(look.nameHeight, `${expected}: line height`).toBeGreaterThan(10);
  expect(look.nameBackground, `${expected}: no background of its own`).toBe('rgba(0, 0, 0, 0)');
  expect(look.nameColor, `${expected}: not white on white`).not.toBe('rgb(255, 255, 255)');
}

function markerLook(page: Page, id: string): Promise<{ classes: string; opacity: number; labelWidth: number; labelVisible: boolean }> {
  return page.$eval(`[data-testid="vehicle-marker"][data-vehicle-id="${id}"]`, (el) => {
    const label = el.querySelector<HTMLElement>('.vehicle-marker__label');
    const ls = label ? getComputedStyle(label) : null;
    return {
      classes: el.className,
      opacity: Number(getComputedStyle(el).opacity),
      labelWidth: label?.getBoundingClientRect().width ?? 0,
      labelVisible: !!ls && ls.display !== 'none' && ls.visibility !== 'hidden' && Number(ls.opacity) > 0.5,
    };
  });
}

describe('what a person sees of vehicle rows and markers', () => {
  let stack: TestStack;
  let browser: Browser;
  let page: Page;
  let liveId: string;
  let staleId: string;
  let names: Map<string, { ja: string; en: string }>;
  const stopFleet = new AbortController();
  let fleet: Promise<unknown>;

  beforeAll(async () => {
    if (!existsSync('dashboard/dist/index.html'))
      throw new Error('dashboard/dist is missing: run `npm run build -w @michi/dashboard` first');
    mkdirSync(SHOTS, { recursive: true });
    stack = await startStack({ pilotId: PILOT });
    const vehicles = stack.pilot.vehicles;
    names = new Map(vehicles.map((v) => [v.id, v.name]));
    liveId = vehicles[0]!.id;
    staleId = vehicles[vehicles.length - 1]!.id;
    // One bus reports for a few seconds and then falls silent: it goes stale while the others drive on.
    await driveFleet(stack, {
      pilot: { ...stack.pilot, vehicles: [vehicles[vehicles.length - 1]!], sensors: [] },
      kinds: ['state'],
      durationS: 3,
      clientIdPrefix: 'silent',
    });
    fleet = driveFleet(stack, {
      pilot: { ...stack.pilot, vehicles: vehicles.slice(0, -1), sensors: [] },
      kinds: ['state', 'link'],
      signal: stopFleet.signal,
    });
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    await page.goto(`${stack.cloud.url}/?pilot=${PILOT}#token=${stack.tokens.operator}`);
  });

  afterAll(async () => {
    stopFleet.abort();
    await fleet?.catch(() => undefined);
    await browser?.close();
    await stack?.close();
  });

  it('live and stale rows both show the name; the stale row dims its name and mode dot, the live one does not', async () => {
    await waitFor(
      async () => {
        const [live, stale] = await Promise.all([rowLook(page, liveId), rowLook(page, staleId)]);
        return !live.classes.includes('is-stale') && stale.classes.includes('is-stale');
      },
      { timeoutMs: 45_000, what: `${staleId} stale and ${liveId} live` },
    );
    await page.screenshot({ path: `${SHOTS}/rows-live-stale-ja.png` });
    const live = await rowLook(page, liveId);
    const stale = await rowLook(page, staleId);
    expectReadableName(live, names.get(liveId)!.ja);
    expectReadableName(stale, names.get(staleId)!.ja);
    expect(live.nameOpacity).toBe(1);
    expect(live.dotOpacity).toBe(1);
    expect(stale.nameOpacity).toBeLessThan(1);
    expect(stale.nameOpacity).toBeGreaterThan(0.3);
    expect(stale.dotOpacity).toBeLessThan(1);
    expect(stale.dotBackground).not.toBe('rgba(0, 0, 0, 0)');

    const liveMarker = await markerLook(page, liveId);
    const staleMarker = await markerLook(page, staleId);
    expect(liveMarker.opacity).toBe(1);
    expect(staleMarker.classes).toContain('is-stale');
    expect(staleMarker.opacity).toBeLessThan(1);
    expect(staleMarker.opacity).toBeGreaterThan(0.2);
  });

  it('a selected row keeps its name readable, and its marker shows its name on the map', async () => {
    await page.locator(`[data-testid="vehicle-row"][data-vehicle-id="${liveId}"]`).click();
    await waitFor(async () => (await rowLook(page, liveId)).classes.includes('is-selected'), { what: 'row selected' });
    await waitFor(async () => (await markerLook(page, liveId)).labelVisible, { what: 'the selected marker label shown' });
    await page.screenshot({ path: `${SHOTS}/row-selected-ja.png` });
    expectReadableName(await rowLook(page, liveId), names.get(liveId)!.ja);
    const marker = await markerLook(page, liveId);
    expect(marker.classes).toContain('is-selected');
    expect(marker.labelWidth).toBeGreaterThan(20);
  });

  it('in English the same rows read in English, stale included', async () => {
    await page.locator('[data-testid="lang-toggle"]').click();
    await waitFor(async () => (await rowLook(page, liveId)).name === names.get(liveId)!.en, { what: 'English names' });
    await page.screenshot({ path: `${SHOTS}/rows-live-stale-en.png` });
    expectReadableName(await rowLook(page, liveId), names.get(liveId)!.en);
    const stale = await rowLook(page, staleId);
    expect(stale.classes).toContain('is-stale');
    expectReadableName(stale, names.get(staleId)!.en);
  });

  it("in the municipality's view every row shows its name, and a bus reporting 30 s late is not drawn stale", async () => {
    const town = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    await town.goto(`${stack.cloud.url}/?pilot=${PILOT}#token=${stack.tokens.viewer}`);
    await waitFor(async () => (await town.locator('[data-testid="vehicle-row"]').count()) === names.size, {
      timeoutMs: 30_000,
      what: 'the viewer sees every row',
    });
    // In the order of the pilot file, as the operator's list.
    const inOrder = [...names.values()];
    for (let i = 0; i < inOrder.length; i++) expectReadableName(await rowLook(town, i), inOrder[i]!.ja);

    // The viewer sees positions 30 s late: a bus reporting normally is 30-odd seconds old and
    // must not be drawn stale (before the fix every bus of this view was grey); the bus that fell
    // silent is, once silent for longer than the delay plus the usual 10 s.
    const delayS = stack.pilot.privacy.publicPositionDelayS;
    expect(delayS).toBe(30);
    const last = inOrder.length - 1;
    const idAt = (i: number) => town.locator('[data-testid="vehicle-row"]').nth(i).getAttribute('data-vehicle-id');
    const [liveAlias, staleAlias] = [(await idAt(0))!, (await idAt(last))!];
    const marker = (id: string) => town.locator(`[data-testid="vehicle-marker"][data-vehicle-id="${id}"]`);
    const ageOf = async (i: number) =>
      Number(/\d+/.exec((await town.locator('[data-testid="vehicle-age"]').nth(i).innerText()) ?? '')?.[0] ?? NaN);
    await waitFor(
      async () =>
        (await marker(liveAlias).count()) === 1 &&
        (await marker(staleAlias).count()) === 1 &&
        (await ageOf(0)) >= delayS &&
        (await rowLook(town, last)).classes.includes('is-stale'),
      { timeoutMs: 60_000, what: 'the viewer sees the live bus 30 s late and the silent one past delay + 10 s' },
    );
    await town.screenshot({ path: `${SHOTS}/rows-viewer-ja.png` });
    for (let i = 0; i < last; i++) {
      const look = await rowLook(town, i);
      expect(look.classes, `row ${i} of the viewer`).not.toContain('is-stale');
      expect(look.nameOpacity, `row ${i}: name not dimmed`).toBe(1);
      expect(look.dotOpacity, `row ${i}: mode dot not dimmed`).toBe(1);
    }
    // The age shown is the true age of the position drawn (about 30 s), and the notice says why.
    expect(await ageOf(0)).toBeGreaterThanOrEqual(delayS);
    expect(await ageOf(0)).toBeLessThan(delayS + 10);
    await expect(town.locator('[data-testid="delay-notice"]').textContent()).resolves.toBe(
      '位置は30秒遅れで表示されます（「〜秒前」はこの遅れを含みます）',
    );
    await expect(town.locator('[data-testid="legend"]').innerText()).resolves.toContain('40秒以上更新なし');
    // Speeds reach a viewer as bands (cloud privacy.ts): each row says its band, never a bare "10 km/h".
    for (const speed of await town.locator('[data-testid="vehicle-speed"]').allInnerTexts())
      expect(speed).toMatch(/^(10 km\/h未満|10〜30 km\/h|30 km\/h以上)$/);
    const liveMarker = await markerLook(town, liveAlias);
    expect(liveMarker.classes).not.toContain('is-stale');
    expect(liveMarker.opacity).toBe(1);
    const stale = await rowLook(town, last);
    expect(stale.classes).toContain('is-stale');
    expect(stale.nameOpacity).toBeLessThan(1);
    expect(stale.dotOpacity).toBeLessThan(1);
    const staleMarker = await markerLook(town, staleAlias);
    expect(staleMarker.classes).toContain('is-stale');
    expect(staleMarker.opacity).toBeLessThan(1);

    await town.locator('[data-testid="lang-toggle"]').click();
    await waitFor(async () => (await rowLook(town, 0)).name === inOrder[0]!.en, { what: 'the viewer page in English' });
    await town.screenshot({ path: `${SHOTS}/rows-viewer-en.png` });
    for (const speed of await town.locator('[data-testid="vehicle-speed"]').allInnerTexts())
      expect(speed).toMatch(/^(under 10 km\/h|10–30 km\/h|30 km\/h or more)$/);
    // Every English name is shown whole (an ellipsis made "Autonomous bus No…" of all three).
    const clipped = await town
      .locator('[data-testid="vehicle-row"] .vehicle-row__name')
      .evaluateAll((els) => els.filter((el) => el.scrollWidth > el.clientWidth + 1).map((el) => el.textContent));
    expect(clipped).toEqual([]);
    expect((await rowLook(town, 0)).nameOpacity).toBe(1);
    expect(await markerLook(town, liveAlias).then((m) => m.opacity)).toBe(1);
    await expect(town.locator('[data-testid="delay-notice"]').textContent()).resolves.toBe(
      'Positions are shown 30 s late (ages include the delay)',
    );
    await expect(town.locator('[data-testid="legend"]').innerText()).resolves.toContain('Stale (40 s+)');
    await town.close();
  });

  // Last: it makes the silent bus report again. Issue 11: a battery not reported is "—", not 0 %.
  it('a bus whose state carries no battery shows "—" for it in its panel, not 0 %', async () => {
    const bus = stack.pilot.vehicles.find((v) => v.id === staleId)!;
    const publisher = await MqttPublisher.open({
      pilotId: PILOT,
      gatewayUrls: new Map(Object.entries(stack.gatewayUrls)),
      deviceKeys: new Map(Object.entries(stack.deviceKeys)),
      clientIdPrefix: 'no-battery',
      logger: pino({ level: 'silent' }),
    });
    const vehicles = async () => {
      const res = await fetch(`${stack.cloud.url}/api/v1/pilots/${PILOT}/vehicles`, {
        headers: { authorization: `Bearer ${stack.tokens.operator}` },
      });
      const body = (await res.json()) as { vehicles: { id: string; state: { ts_ms: number; battery_pct: number | null } | null }[] };
      return body.vehicles.find((v) => v.id === staleId)!.state;
    };
    expect((await vehicles())?.battery_pct).toEqual(expect.any(Number));
    const ts = Date.now();
    publisher.publish({
      kind: 'state',
      pilotId: PILOT,
      gatewayId: bus.gatewayId,
      sourceId: staleId,
      topic: readingTopic(PILOT, bus.gatewayId, staleId, 'state'),
      body: { source_id: staleId, ts_ms: ts, seq: 1_000_000, position: { lat: 36.39, lon: 139.06 }, speed_mps: 0, heading_deg: 0, mode: 2 },
    });
    await publisher.drain(10_000);
    await publisher.close();
    await waitFor(async () => (await vehicles())?.ts_ms === ts, { timeoutMs: 20_000, what: 'the state without battery in the cloud' });
    expect((await vehicles())?.battery_pct).toBeNull();
    await page.locator(`[data-testid="vehicle-row"][data-vehicle-id="${staleId}"]`).click();
    const battery = page.locator('[data-testid="vehicle-detail-battery"]');
    await waitFor(async () => (await battery.count()) === 1 && (await battery.textContent())?.includes('—') === true, {
      timeoutMs: 20_000,
      what: 'the battery row showing —',
    });
    expect(await battery.textContent()).not.toMatch(/\d\s*%/);
  });
});
