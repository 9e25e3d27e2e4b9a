// Browser test of "Copy link": the copied URL carries the whole state (model, sentence, k,
// depth, switched-off heads, the heatmap's layer and head, the side-by-side sentences, the view
// to open at), and opening it in a fresh page restores exactly that.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { appUrl, assertSameTopK, cliJson, fixtures, launch, readPredictions, readyStatus, screenshot, setRange, startServers, waitPredictions } from './helpers.mjs';

const PRE = join(fixtures, 'pretraining');
const TEXT = 'the [MASK] sat on the mat.';
let s;

before(async () => {
  s = await startServers();
});
after(async () => {
  await s?.close();
});

describe('share', () => {
  test('the copied link reopens the same state', async (t) => {
    const { context, page, problems } = await launch(t);
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: s.app.url });
    await page.goto(appUrl(s.app, { model: s.modelUrl('pretraining'), text: TEXT }));
    await readyStatus(page);
    await waitPredictions(page, 1);
    await page.getByTestId('top-k').selectOption('3');
    await setRange(page.getByTestId('depth'), 4);
    await page.waitForSelector('[data-testid="inside"][data-depth="4"]');
    await page.locator('[data-testid="head-switch"][data-layer="2.0"][data-head="1"]').click();
    await page.waitForSelector('[data-testid="inside"][data-switches="2.0:1"]');
    await page.getByTestId('heatmap-layer').selectOption('2');
    await page.getByTestId('heatmap-head').selectOption('3');
    await page.getByTestId('compare-toggle').click();
    await page.getByTestId('compare-a').fill('the cat sat on [MASK] mat.');
    await page.getByTestId('compare-b').fill('the dog sat on [MASK] mat.');
    await page.getByTestId('share-view').selectOption('drift');
    await page.getByTestId('copy-link').click();
    await page.waitForSelector('[data-testid="share-url"][data-url]:not([hidden])');
    const url = await page.getByTestId('share-url').getAttribute('data-url');
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), url, 'the link is on the clipboard');
    await screenshot(page.locator('section.share-card'), 'share.png');
    const q = new URL(url).searchParams;
    assert.deepEqual(
      Object.fromEntries(['model', 'text', 'k', 'depth', 'off', 'layer', 'head', 'ca', 'cb', 'view'].map((k) => [k, q.get(k)])),
      { model: s.modelUrl('pretraining'), text: TEXT, k: '3', depth: '4', off: '2.0:1', layer: '3', head: '3', ca: 'the cat sat on [MASK] mat.', cb: 'the dog sat on [MASK] mat.', view: 'drift' },
    );

    // A fresh page on the link.
    const other = await context.newPage();
    await other.goto(url);
    await readyStatus(other);
    await other.waitForSelector('[data-testid="inside"][data-depth="4"][data-switches="2.0:1"]');
    assert.equal(await other.getByTestId('sentence').inputValue(), TEXT);
    assert.equal(await other.getByTestId('top-k').inputValue(), '3');
    const preds = await waitPredictions(other, 1);
    assert.equal(preds[0].top_k.length, 3);
    assertSameTopK(await readPredictions(other), cliJson(['fill', '--model', PRE, '--text', TEXT, '--top-k', '6', '--depth', '4', '--ablate', '2.0:1']));
    assert.equal(await other.getByTestId('depth').inputValue(), '4');
    assert.equal(await other.locator('[data-testid="head-switch"][data-layer="2.0"][data-head="1"]').getAttribute('aria-pressed'), 'true');
    assert.equal(await other.getByTestId('heatmap-layer').inputValue(), '2', 'layer 3 is the third map');
    assert.equal(await other.getByTestId('heatmap-head').inputValue(), '3');
    assert.equal(await other.locator('[data-testid="compare"] details').evaluate((d) => d.open), true);
    assert.equal(await other.getByTestId('compare-a').inputValue(), 'the cat sat on [MASK] mat.');
    assert.equal(await other.getByTestId('compare-b').inputValue(), 'the dog sat on [MASK] mat.');
    // Opened at the drift view: its top is in the viewport.
    await other.waitForFunction(() => {
      const r = document.querySelector('[data-testid="drift"]')?.getBoundingClientRect();
      return r !== undefined && r.top >= -1 && r.top < innerHeight;
    });
    assert.deepEqual(problems, []);
  });
});
