// Time to first prediction (cold and cached) and the README's screenshots of the page (the
// attention views' screenshots are saved by attention.test.mjs).
//
// TTFP is measured from the start of navigation to the first `data-testid="prediction"` element,
// on the embedded default model when the build has one, else the tiny fixture:
//   cold   = a fresh browser profile (nothing cached: wasm, shaders, weights all fetched/compiled);
//   cached = a reload in the same profile (service worker + model cache; no weights fetched).
// The line `TTFP cold: X ms, cached: Y ms` is printed to the test output.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appUrl, enterSentence, launch, readyStatus, screenshot, showcaseModel, startServers } from './helpers.mjs';

let s;
before(async () => {
  s = await startServers();
});
after(async () => {
  await s?.close();
});

describe('showcase', () => {
  test('time to first prediction, cold and cached', async (t) => {
    const show = showcaseModel(s);
    const { page } = await launch(t);
    const url = appUrl(s.app, show.params);
    let t0 = Date.now();
    await page.goto(url);
    await page.waitForSelector('[data-testid="prediction"]', { timeout: 120_000 });
    const cold = Date.now() - t0;
    // Wait until the model record is stored and the service worker controls the page.
    await page.locator('[data-testid="cached-model"]').first().waitFor();
    await page.evaluate(() => navigator.serviceWorker.ready);
    t0 = Date.now();
    await page.reload();
    await page.waitForSelector('[data-testid="prediction"]', { timeout: 120_000 });
    const cached = Date.now() - t0;
    const states = await page.$$eval('[data-testid="progress"]', (els) => els.map((e) => e.dataset.state));
    assert.ok(states.every((x) => x === 'cached'), `second load states: ${states}`);
    const backend = await page.getByTestId('status').getAttribute('data-backend');
    const line = `TTFP cold: ${cold} ms, cached: ${cached} ms`;
    t.diagnostic(`${line} (${show.name}, ${backend}, headless Chromium + SwiftShader)`);
    console.log(line);
  });

  test('screenshots of the page (light, dark, phone), its panels and the benchmark', async (t) => {
    const show = showcaseModel(s);
    for (const scheme of ['light', 'dark']) {
      const { page } = await launch(t, { viewport: { width: 1280, height: 860 }, colorScheme: scheme });
      await page.goto(appUrl(s.app, show.params));
      await readyStatus(page);
      await enterSentence(page, 'The [MASK] chased the [MASK] across the garden.');
      await page.locator('[data-testid="cached-model"]').first().waitFor();
      await screenshot(page, `app-${scheme}.png`);
      if (scheme === 'dark') continue;
      await screenshot(page.getByTestId('model-panel'), 'model-panel.png');
      await screenshot(page.locator('section.source'), 'model-source.png');
      await screenshot(page.getByTestId('storage'), 'storage.png');
    }
    // (The attention views' own screenshots come from attention.test.mjs.)
    // A phone.
    const { page } = await launch(t, { viewport: { width: 390, height: 844 } });
    await page.goto(appUrl(s.app, show.params));
    await readyStatus(page);
    await enterSentence(
      page,
      'I forgot my umbrella this morning. [SEP] I got completely [MASK] on the way to work.',
    );
    await screenshot(page, 'mobile.png');
    // The benchmark page.
    const bench = await launch(t, { viewport: { width: 1280, height: 860 } });
    await bench.page.goto(appUrl(s.app, { ...show.params, bench: '1', n: '8,32', runs: '5' }));
    await bench.page.locator('[data-testid="bench"][data-state="done"]').waitFor({ timeout: 120_000 });
    await screenshot(bench.page.locator('section.bench'), 'bench.png');
  });
});
