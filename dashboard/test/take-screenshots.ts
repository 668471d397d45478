// Takes the screenshots in docs/screenshots/ from a running stack with the bus pilot driving:
//   node --conditions=michi-src --import tsx dashboard/test/take-screenshots.ts <url> <operator-token> <viewer-token>
// (e.g. `make run` and the tokens it prints). PNG, 1280×800: straight from Chromium each is
// 150–200 KB; `pngquant --quality=80-95 --force --output f.png f.png` (Debian's pngquant) brings
// them to 55–70 KB, as committed. The alarm console's (alarms-tab-ja.png, alarms-tab-en.png,
// alarm-ack-form-en.png) are taken by alarms.browser.test.ts, which raises the alarms it shows, in
// .run/screenshots/, and copied here through the same pngquant.
import { statSync } from 'node:fs';
import { launchChromium } from '../../scripts/test-support/chromium.js';

const [url, operator, viewer] = process.argv.slice(2);
if (!url || !operator || !viewer) throw new Error('usage: take-screenshots.ts <url> <operator-token> <viewer-token>');
const PILOT = 'maebashi-l4-bus';
const OUT = 'docs/screenshots';

const browser = await launchChromium();
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${url}/?pilot=${PILOT}#token=${operator}`);
  await page.locator('[data-testid="vehicle-marker"]').first().waitFor({ timeout: 30_000 });
  await page.locator('[data-testid="coverage-toggle"]').click();
  await page.waitForTimeout(3000);
  await page.locator('[data-testid="vehicle-row"]').nth(1).click();
  await page.waitForTimeout(4000);
  await page.screenshot({ path: `${OUT}/operator-live.png` });

  const to = Date.now() - 60_000;
  const from = to - 20 * 60_000;
  await page.goto(`${url}/?pilot=${PILOT}&mode=replay&from=${from}&to=${to}&t=${from + 9 * 60_000}`);
  await page.waitForFunction('document.body.dataset.replay === "ready"', undefined, { timeout: 30_000 });
  await page.locator('[data-testid="vehicle-row"]').first().click();
  await page.locator('[data-testid="tab-kpis"]').click();
  await page.waitForTimeout(2500);
  await page.screenshot({ path: `${OUT}/replay.png` });

  const town = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  await town.goto(`${url}/?pilot=${PILOT}#token=${viewer}`);
  await town.locator('[data-testid="lang-toggle"]').click({ timeout: 60_000 });
  await town.locator('[data-testid="vehicle-marker"]').first().waitFor({ timeout: 30_000 });
  await town.locator('[data-testid="tab-events"]').click();
  await town.waitForTimeout(3000);
  await town.screenshot({ path: `${OUT}/municipality.png` });
  for (const name of ['operator-live', 'replay', 'municipality']) {
    console.log(`${OUT}/${name}.png ${(statSync(`${OUT}/${name}.png`).size / 1024).toFixed(0)} KB`);
  }
} finally {
  await browser.close();
}
