// Browser tests of what a forward reads back (issue 13 item 3): with the attention views hidden,
// none of the maps; at 100 tokens, one map whole, the means and the thumbnails rather than every
// map; another view's need runs the sentence again; the JSON export still holds every map.
//
//   node --test tests/e2e/readback.test.mjs      (scripts/test builds dist/ first)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  appUrl,
  assertSameTopK,
  cliFill,
  cliJson,
  launch,
  longModelDir,
  readyStatus,
  startServers,
  waitPredictions,
  waitText,
} from './helpers.mjs';
import { openTiny, TINY, tinyMapFloats, tinyPageBytes } from './tiny.mjs';

let s;

before(async () => {
  s = await startServers();
});
after(async () => {
  await s?.close();
});

describe('hiding the attention views', () => {
  test('hiding the attention maps: forwards read none back (fused kernel); showing them runs the sentence again', async (t) => {
    const { page, problems } = await openTiny(t, s);
    await readyStatus(page);
    const text = 'The capital of France is [MASK].';
    const n = cliFill(TINY, text, 8).ids.length;
    const bytes = () => page.evaluate(() => window.albertLensStats().lastForwardBytes);
    await page.waitForSelector('[data-testid="head-view"][data-tokens]');
    assert.equal(await bytes(), tinyPageBytes(n));
    await page.getByTestId('attention-toggle').click();
    assert.equal(await page.getByTestId('attention-toggle').getAttribute('aria-pressed'), 'false');
    assert.equal(await page.getByTestId('head-view').count(), 0, 'the views are gone');
    const forwards = await page.evaluate(() => window.albertLensStats().forwards);
    await page.getByTestId('sentence').fill('The capital of Spain is [MASK].');
    await page.waitForFunction((f) => window.albertLensStats().forwards > f, forwards);
    const m = cliFill(TINY, 'The capital of Spain is [MASK].', 8);
    assertSameTopK(await waitPredictions(page, 1), m);
    const nn = m.ids.length;
    assert.equal(await bytes(), tinyPageBytes(nn, { maps: false }), 'no maps read back');
    assert.match(await page.getByTestId('readback').innerText(), /without attention maps/);
    await page.getByTestId('attention-toggle').click();
    await page.waitForSelector('[data-testid="head-view"][data-tokens]');
    assert.equal(await bytes(), tinyPageBytes(nn), 'maps again');
    assert.match(await page.getByTestId('readback').innerText(), /attention maps included/);
    assert.deepEqual(problems, []);
  });
});

describe('pay for what is shown (issue 13 item 3)', () => {
  for (const webgpu of [true, false]) {
    test(`${webgpu ? 'WebGPU' : 'CPU worker'}: at 100 tokens a forward reads back one map whole, the means and the thumbnails; the JSON export still holds every map; another layer runs again`, async (t) => {
      const { page, problems } = await launch(t, webgpu ? {} : { webgpu: false });
      const words = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ');
      const text = `${words} and the [MASK] is here.`;
      await page.goto(appUrl(s.app, { model: s.modelUrl('gen/long'), text }));
      assert.equal((await readyStatus(page)).backend, webgpu ? 'webgpu' : 'cpu');
      await waitPredictions(page, 1);
      const cli = cliJson(['fill', '--model', longModelDir(), '--text', text, '--attentions', '--top-k', '5']);
      const n = cli.ids.length;
      const stats = () => page.evaluate(() => window.albertLensStats());
      const one = tinyMapFloats(n, 1);
      assert.ok(one.views < one.all, `at n = ${n} the views' reductions must be fewer floats than every map`);
      assert.equal((await stats()).lastForwardBytes, tinyPageBytes(n, { maps: false }) + 4 * one.views, 'one map whole, means, thumbnails');
      assert.match(await page.getByTestId('readback').innerText(), /attention maps included/);
      // The model view paints the forward's thumbnails: every head of every map, pooled (a
      // canvas a map, one thumbnail a head).
      await page.waitForFunction((side) => {
        const c = [...document.querySelectorAll('[data-testid="model-view-row"]')];
        return c.length === 3 && c.every((e) => e.dataset.side === String(side));
      }, one.side);
      // The rollout rolls out the forward's means (its figure can be exported).
      await page.waitForSelector('[data-testid="rollout"] [data-testid="export-svg"]:not([disabled])');

      // The JSON export runs the sentence once more with every map: it equals the CLI's.
      const button = page.locator('[data-testid="heatmap"] [data-testid="export-json"]');
      const waiting = page.waitForEvent('download');
      await button.click();
      const dl = await waiting;
      assert.equal(await dl.failure(), null);
      const got = JSON.parse(readFileSync(await dl.path(), 'utf8'));
      assert.equal(got.attentions.length, 3);
      const flat = got.attentions.flat(3);
      const want = cli.attentions.flat(3);
      assert.equal(flat.length, want.length);
      const worst = flat.reduce((m, v, i) => Math.max(m, Math.abs(v - want[i])), 0);
      assert.ok(worst <= 2e-4, `largest |page − CLI| attention ${worst}`);

      // Another layer in the head view: the shown forward lacks it, so the sentence runs again.
      const before = (await stats()).forwards;
      await page.getByTestId('head-view-layer').selectOption('2');
      await page.waitForFunction((b) => window.albertLensStats().forwards > b, before);
      await waitText(page, 'head-view-foot', /lines shown/);
      assert.equal((await stats()).lastForwardBytes, tinyPageBytes(n, { maps: false }) + 4 * one.views, 'map 2 whole instead of map 0');
      // A head of map 0 in the heatmap: two maps whole cost more than every map, so every map.
      const two = tinyMapFloats(n, 2);
      const before2 = (await stats()).forwards;
      await page.getByTestId('heatmap-head').selectOption('1');
      await page.waitForFunction((b) => window.albertLensStats().forwards > b, before2);
      await page.waitForFunction(() => !/Reading/.test(document.querySelector('[data-testid="heatmap-readout"]').textContent));
      assert.equal((await stats()).lastForwardBytes, tinyPageBytes(n, { maps: false }) + 4 * two.read, 'two maps whole, or every map');
      // Back to the mean: every map is shown already, no forward.
      const settled = (await stats()).forwards;
      await page.getByTestId('heatmap-head').selectOption('mean');
      await page.waitForTimeout(500);
      assert.equal((await stats()).forwards, settled, 'the mean needs no forward');
      assert.deepEqual(problems, []);
    });
  }
});
