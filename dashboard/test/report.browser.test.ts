/// <reference lib="dom" />
// The report a municipality files, in Chromium against the real stack: a month of the bus pilot
// (October 2026, written straight into InfluxDB: three buses, 08:00–19:00 JST each day, takeovers
// of several causes) picked in the KPI tab's Report section; "Download CSV" saves the cloud's file
// (BOM, its name), "Printable report" opens the page in the dashboard's language, whose per-day
// table has a row per day and totals equal to the API's, in Japanese and in English. Screenshots of
// the page (and of it as printed) go to .run/screenshots/ (docs/screenshots/report-*.png are copies).
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '@michi/proto';
import { launchChromium, startStack, type TestStack } from '../../scripts/test-support/index.js';
import { apiGet } from './support.js';

const PILOT = 'maebashi-l4-bus';
const SHOTS = '.run/screenshots';
const JST = 9 * 3_600_000;
const MIN = 60_000;
const CAUSES = ['PEDESTRIAN', 'PARKED_VEHICLE', 'DRIVER_PRECAUTION', 'ROAD_WORKS'];
/** 00:00 JST on 1 October 2026 and on 1 November 2026. */
const OCTOBER = { from: Date.UTC(2026, 9, 1) - JST, to: Date.UTC(2026, 10, 1) - JST - 1 };

/**
 * October 2026 of the bus pilot as line protocol: each bus reports every minute from 08:00 to 19:00
 * JST, 120–180 m apart (odometer), manual for the first (day × 7 mod 20) + 10 minutes of the day,
 * then autonomous; bus 2 is silent 13:00–14:00 on every fifth day (availability below 100 %); a link
 * sample every other minute, RSRP around a level that changes from day to day; on day d, d mod 3
 * takeovers by the first bus, causes in turn, a disengagement every fourth day, an emergency stop on the 17th.
 */
function october(vehicles: readonly string[]): string[] {
  const lines: string[] = [];
  let cause = 0;
  for (const [b, source] of vehicles.entries()) {
    let seq = 1;
    let odometer = 20_000 + b * 1_000;
    for (let day = 1; day <= 31; day++) {
      const opening = Date.UTC(2026, 9, day, 8) - JST;
      const manual = ((day * 7) % 20) + 10;
      const level = -88 + 6 * Math.sin(day / 3) - b;
      for (let m = 0; m < 11 * 60; m++) {
        if (b === 1 && day % 5 === 0 && m >= 300 && m < 360) continue;
        const t = opening + m * MIN + b * 7_000;
        odometer += 120 + ((m * 37 + day * 11 + b * 5) % 61);
        const mode = m < manual ? 'MANUAL' : 'AUTONOMOUS';
        lines.push(
          `vehicle_state,pilot=${PILOT},source=${source} lat=36.39,lon=139.06,speed_mps=${(2.5 + (m % 5)).toFixed(1)},heading_deg=0,mode="${mode}",odometer_m=${odometer},battery_pct=80,seq=${seq++}i,gateway="gw",recv_ms=${t + 150}i ${t}`,
        );
        if (m % 2 === 0) {
          const rsrp = (level - ((m * 13 + day) % 9)).toFixed(1);
          lines.push(
            `link_sample,cell=440-10:0x00a1b201,pilot=${PILOT},source=${source} pci=101i,band="n79",rsrp_dbm=${rsrp},sinr_db=${8 + ((m * 7) % 12)},rtt_ms=${9 + ((m * 3) % 14)},seq=${seq++}i,gateway="gw",recv_ms=${t + 120}i ${t + 500}`,
          );
        }
      }
      if (b !== 0) continue;
      const event = (minute: number, type: string, c: string) =>
        lines.push(
          `event,pilot=${PILOT},source=${source} type="${type}",cause="${c}",severity="WARNING",seq=${seq++}i,gateway="gw",recv_ms=${opening + minute * MIN + 1_100}i ${opening + minute * MIN + 1_000}`,
        );
      for (let k = 0; k < day % 3; k++) event(100 + k * 200, 'TAKEOVER', CAUSES[cause++ % CAUSES.length]!);
      if (day % 4 === 0) event(450, 'DISENGAGEMENT', 'PARKED_VEHICLE');
      if (day === 17) event(500, 'EMERGENCY_STOP', 'PEDESTRIAN');
    }
  }
  return lines;
}

/** A figure as the page writes it ("1,234.56", "93.2%") as a number; NaN for "—". */
const figure = (text: string) => Number(text.replace(/[,%\s]/g, ''));

describe('the report in Chromium', () => {
  let stack: TestStack;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    if (!existsSync('dashboard/dist/index.html'))
      throw new Error('dashboard/dist is missing: run `npm run build -w @michi/dashboard` first');
    mkdirSync(SHOTS, { recursive: true });
    stack = await startStack({ pilotId: PILOT });
    const lines = october(stack.pilot.vehicles.map((v) => v.id));
    for (let i = 0; i < lines.length; i += 5_000) await stack.influx.write(lines.slice(i, i + 5_000));
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
    context.on('page', (p) => {
      p.on('pageerror', (err) => problems.push(`${p.url()}: ${err.message}`));
    });
    page = await context.newPage();
    await page.goto(`${stack.cloud.url}/?pilot=${PILOT}#token=${stack.tokens.operator}`);
    await page.locator('[data-testid="tab-kpis"]').click();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('the Report section offers last month, and downloads the cloud’s CSV of the month picked', async () => {
    const month = page.locator('[data-testid="report-month"]');
    const now = new Date(Date.now() + JST);
    const last = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
    expect(await month.inputValue()).toBe(last.toISOString().slice(0, 7));
    await month.fill('2026-10');
    const [download] = await Promise.all([
      page.waitForEvent('download').catch(async (err: unknown) => {
        throw new Error(`no download; the section says: ${await page.locator('[data-testid="report-status"]').innerText()}`, {
          cause: err,
        });
      }),
      page.locator('[data-testid="report-download"]').click(),
    ]);
    expect(download.suggestedFilename()).toBe(`michi-report-${PILOT}-2026-10-01-2026-10-31-ja.csv`);
    const bytes = readFileSync((await download.path())!);
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = bytes.toString('utf8');
    expect(text).toContain('\r\n2026-10-31,');
    expect(text).toContain('\r\n合計,');
  });

  it.each(['ja', 'en'] as const)('the printable report in %s: a row per day, totals equal to the API’s', async (lang) => {
    if (lang === 'en') await page.locator('[data-testid="lang-toggle"]').click();
    await page.locator('[data-testid="report-month"]').fill('2026-10');
    const [report] = await Promise.all([context.waitForEvent('page'), page.locator('[data-testid="report-print"]').click()]);
    await report
      .locator('[data-testid="report-table"]')
      .waitFor({ timeout: 30_000 })
      .catch(async (err: unknown) => {
        throw new Error(`no report table; the page says: ${await report.locator('body').innerText()}`, { cause: err });
      });
    expect(await report.locator('html').getAttribute('lang')).toBe(lang);
    const api = await apiGet<Report>(
      stack,
      `/pilots/${PILOT}/report?from=${OCTOBER.from}&to=${OCTOBER.to}&lang=${lang}`,
      stack.tokens.operator,
    );

    const headings = await report.locator('[data-testid="report-table"] thead th').allInnerTexts();
    expect(headings).toEqual(api.columns.map((c) => c.label));
    const days = report.locator('[data-testid="report-day"]');
    expect(await days.count()).toBe(31);
    expect(await days.first().locator('th').innerText()).toBe('2026-10-01');
    const cell = (row: ReturnType<Page['locator']>, key: string) => row.locator(`td[data-key="${key}"]`).innerText();
    const totals = report.locator('[data-testid="report-totals"]');
    for (const [row, figures] of [
      [totals, api.totals],
      [days.nth(16), api.days[16]!],
    ] as const) {
      expect(figure(await cell(row, 'distance_km'))).toBeCloseTo(figures.distance_km, 2);
      expect(figure(await cell(row, 'autonomous_share'))).toBeCloseTo(figures.autonomous_share! * 100, 1);
      expect(figure(await cell(row, 'takeovers'))).toBe(figures.takeovers);
      expect(figure(await cell(row, 'emergency_stops'))).toBe(figures.emergency_stops);
      expect(figure(await cell(row, 'availability'))).toBeCloseTo(figures.availability! * 100, 1);
      expect(figure(await cell(row, 'rsrp_dbm_p50'))).toBeCloseTo(figures.rsrp_dbm_p50!, 1);
      expect(figure(await cell(row, 'readings_received'))).toBe(figures.readings_received);
    }
    // The fixture's own arithmetic: 31 × 1 takeover on average (0, 1 or 2 by day), by four causes.
    expect(api.totals.takeovers).toBe([...Array(31).keys()].reduce((n, i) => n + ((i + 1) % 3), 0));
    const causes = report.locator('[data-testid="report-takeovers-by-cause"] tbody tr');
    expect(await causes.count()).toBe(4);
    expect(await causes.first().locator('th').innerText()).toBe(api.takeovers_by_cause[0]!.label);
    expect(await report.locator('[data-testid="report-distance-chart"] rect').count()).toBe(2 * 31);
    expect(await report.locator('[data-testid="report-link-chart"] path').count()).toBe(2);

    await report.setViewportSize({ width: 1280, height: 900 });
    // Nothing wider than the window: no column is cut off or needs a sideways scroll.
    expect(await report.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1280);
    await report.screenshot({ path: `${SHOTS}/report-${lang}.png`, fullPage: true });
    if (lang === 'en') {
      await report.emulateMedia({ media: 'print' });
      expect(await report.locator('[data-testid="report-print-button"]').isVisible()).toBe(false);
      await report.screenshot({ path: `${SHOTS}/report-print-en.png`, fullPage: true });
    }
    await report.close();
    expect(problems).toEqual([]);
  });
});
