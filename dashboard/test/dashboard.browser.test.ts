/// <reference lib="dom" />
// The dashboard as a person sees it: the real stack with simulated buses, served by the cloud, in
// headless Chromium. The map must show every vehicle of the pilot and the markers must move.
import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFleet } from '@michi/simulators';
import { launchChromium, startStack, waitFor, type TestStack } from '../../scripts/test-support/index.js';

const PILOT = 'maebashi-l4-bus';

interface MarkerBox {
  id: string;
  x: number;
  y: number;
}

describe('dashboard in Chromium against the live stack', () => {
  let stack: TestStack;
  let browser: Browser;
  let page: Page;
  const stopFleet = new AbortController();
  let fleet: Promise<unknown>;
  const problems: string[] = [];

  beforeAll(async () => {
    if (!existsSync('dashboard/dist/index.html'))
      throw new Error('dashboard/dist is missing: run `npm run build -w @michi/dashboard` first');
    stack = await startStack({ pilotId: PILOT });
    // Buses driven in real time at 1 Hz for as long as the test runs.
    fleet = runFleet({ pilot: stack.pilot, mqttUrl: stack.gatewayUrls, rateHz: 1, signal: stopFleet.signal });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('request', (r) => {
      const host = new URL(r.url()).hostname;
      if (!['127.0.0.1', 'localhost'].includes(host) && !r.url().startsWith('data:') && !r.url().startsWith('blob:'))
        problems.push(`request to ${r.url()}`);
    });
    await page.goto(`${stack.cloud.url}/?pilot=${PILOT}`);
  });

  afterAll(async () => {
    stopFleet.abort();
    await fleet?.catch(() => undefined);
    await browser?.close();
    await stack?.close();
  });

  async function markers(): Promise<MarkerBox[]> {
    return page.$$eval('[data-testid="vehicle-marker"]', (els) =>
      els.map((el) => {
        const r = el.getBoundingClientRect();
        return { id: el.getAttribute('data-vehicle-id') ?? '', x: r.x + r.width / 2, y: r.y + r.height / 2 };
      }),
    );
  }

  it('shows a marker for every vehicle of the pilot, inside the map', async () => {
    const ids = stack.pilot.vehicles.map((v) => v.id).sort();
    await waitFor(async () => (await markers()).length === ids.length, { timeoutMs: 30_000, what: `${ids.length} vehicle markers` });
    const boxes = await markers();
    expect(boxes.map((m) => m.id).sort()).toEqual(ids);
    const map = await page.locator('[data-testid="map"]').boundingBox();
    for (const m of boxes) {
      expect(m.x, `${m.id} x`).toBeGreaterThanOrEqual(map!.x);
      expect(m.x, `${m.id} x`).toBeLessThanOrEqual(map!.x + map!.width);
      expect(m.y, `${m.id} y`).toBeGreaterThanOrEqual(map!.y);
      expect(m.y, `${m.id} y`).toBeLessThanOrEqual(map!.y + map!.height);
    }
    await expect(page.locator('[data-testid="vehicle-row"]').count()).resolves.toBe(ids.length);
  });

  it('moves the markers as the vehicles drive', async () => {
    const before = new Map((await markers()).map((m) => [m.id, m]));
    let moved: string[] = [];
    await waitFor(
      async () => {
        moved = (await markers())
          .filter((m) => {
            const b = before.get(m.id)!;
            return Math.hypot(m.x - b.x, m.y - b.y) > 2;
          })
          .map((m) => m.id);
        return moved.length > 0;
      },
      { timeoutMs: 20_000, intervalMs: 500, what: 'a vehicle marker to move' },
    );
    expect(moved.length).toBeGreaterThan(0);
  });

  it('loads nothing from outside this machine and logs no errors', () => {
    expect(problems).toEqual([]);
  });
});
