/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// What the dashboard's browser tests share: the real stack with a pilot's vehicles driving, some
// recorded history to replay, Chromium, and helpers to read the page.
import type { Page } from 'playwright-core';
import { runFleet, type RunFleetOptions, type RunFleetResult } from '@michi/simulators';
import type { TestStack } from '../../scripts/test-support/index.js';

export type StackTokens = TestStack['tokens'];

/** The simulator on the stack's edges, at 1 Hz unless `options` say otherwise; the pilot is the stack's unless given. */
export function driveFleet(stack: TestStack, options: Partial<RunFleetOptions>): Promise<RunFleetResult> {
  return runFleet({ pilot: stack.pilot, mqttUrl: stack.gatewayUrls, deviceKeys: stack.deviceKeys, rateHz: 1, ...options });
}

/** Drives the pilot's fleet through `windowS` seconds ending now, as fast as the stack takes it: history to replay. */
export async function recordHistory(stack: TestStack, windowS: number): Promise<{ from: number; to: number }> {
  const from = Date.now() - windowS * 1000;
  const result = await driveFleet(stack, {
    kinds: ['state', 'link', 'event'],
    durationS: windowS - 5,
    speedup: Number.POSITIVE_INFINITY,
    startTsMs: from,
    // Another seed than the live fleet's, so the two runs are different drives.
    seed: 7,
    clientIdPrefix: 'history',
  });
  if (result.failed > 0) throw new Error(`recording history: ${result.failed} readings failed`);
  return { from, to: from + (windowS - 5) * 1000 };
}

/** GET an /api/v1 path with a token, from the test process (not the page). */
export async function apiGet<T>(stack: TestStack, path: string, token: string): Promise<T> {
  const res = await fetch(`${stack.cloud.url}/api/v1${path}`, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

export interface MarkerBox {
  id: string;
  x: number;
  y: number;
  lon: number;
  lat: number;
}

export function markers(page: Page): Promise<MarkerBox[]> {
  return page.$$eval('[data-testid="vehicle-marker"]', (els) =>
    els.map((el) => {
      const r = el.getBoundingClientRect();
      const d = (el as HTMLElement).dataset;
      return { id: d['vehicleId'] ?? '', x: r.x + r.width / 2, y: r.y + r.height / 2, lon: Number(d['lon']), lat: Number(d['lat']) };
    }),
  );
}

/** The text a person sees (hidden elements excluded), plus placeholders, titles and labels of what is visible. */
export function visibleText(page: Page): Promise<string> {
  return page.evaluate(() => {
    // Text that comes from seeds or the API as it is (the pilot's notice, event detail) is data,
    // not the dashboard's wording: left out.
    const data = [...document.querySelectorAll<HTMLElement>('[data-testid="pilot-notice"], [data-testid="event-detail"]')];
    const displays = data.map((el) => el.style.display);
    for (const el of data) el.style.display = 'none';
    const parts = [document.body.innerText];
    data.forEach((el, i) => (el.style.display = displays[i]!));
    for (const el of document.querySelectorAll<HTMLElement>('[title], [aria-label], [placeholder]')) {
      if (el.closest('[hidden]') || el.offsetParent === null) continue;
      parts.push(el.title, el.getAttribute('aria-label') ?? '', el.getAttribute('placeholder') ?? '');
    }
    parts.push(document.title);
    return parts.join('\n');
  });
}
