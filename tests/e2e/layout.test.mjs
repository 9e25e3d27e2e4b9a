// Browser tests of the fill-mask page's layout: a long sentence on a phone, the space predictions
// take before they arrive, and what a prediction row shows whole.
//
//   node --test tests/e2e/layout.test.mjs   (scripts/test builds dist/ first)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appUrl, assertSameTopK, cliFill, enterSentence, launch, longModelDir, readyStatus, startServers, waitPredictions } from './helpers.mjs';

let s;
before(async () => {
  s = await startServers();
});
after(async () => {
  await s?.close();
});

/** Opens the app on the tiny fixture. */
async function openTiny(t, opts = {}) {
  const ctx = await launch(t, opts);
  await ctx.page.goto(appUrl(s.app, { model: s.modelUrl('tiny') }));
  return ctx;
}

describe('layout', () => {
  test('100 tokens stay readable and a phone-sized window has no horizontal scroll', async (t) => {
    const { page } = await launch(t, { viewport: { width: 390, height: 844 } });
    await page.goto(appUrl(s.app, { model: s.modelUrl('gen/long') }));
    await readyStatus(page);
    const words = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ');
    const text = `${words} and the [MASK] is here.`;
    const preds = await enterSentence(page, text);
    assertSameTopK(preds, cliFill(longModelDir(), text, 8));
    const tokens = await page.$$eval('[data-testid="token"]', (els) => els.length);
    assert.ok(tokens >= 100 && tokens <= 128, `${tokens} tokens`);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than the window`);
    // Every token chip is inside the tokens box horizontally.
    const outside = await page.$$eval('[data-testid="token"]', (els) => {
      const box = document.querySelector('[data-testid="tokens"]').getBoundingClientRect();
      return els.filter((e) => {
        const r = e.getBoundingClientRect();
        return r.left < box.left - 1 || r.right > box.right + 1;
      }).length;
    });
    assert.equal(outside, 0);
  });

  test('predictions do not move the layout when they arrive (skeletons reserve the space)', async (t) => {
    const { page } = await openTiny(t);
    await readyStatus(page);
    await waitPredictions(page, 1);
    const height = () => page.evaluate(() => document.querySelector('.masks').getBoundingClientRect().height);
    const ready = await height();
    await page.getByTestId('sentence').press('End');
    await page.getByTestId('sentence').press('Space');
    const pending = await height();
    assert.ok(Math.abs(ready - pending) < 2, `predictions area ${ready}px with results, ${pending}px while computing`);
  });

  // The narrowest prediction card is 15rem (`.masks` in assets/fill.css), on a desktop and a phone
  // alike. A word of up to 8 letters is shown whole there; longer ones end in an ellipsis, with the
  // whole token in the row's title. The rank holds "20" (k ≤ 20) and the number "<0.01%".
  for (const [name, viewport] of [['desktop', { width: 1280, height: 900 }], ['phone', { width: 390, height: 844 }]]) {
    test(`a prediction row shows words of up to 8 letters, its rank and its number whole (${name})`, async (t) => {
      const { page, problems } = await openTiny(t, { viewport });
      await readyStatus(page);
      await waitPredictions(page, 1);
      const fit = (selector, text) =>
        page.evaluate(
          ([selector, text]) => {
            const e = document.querySelector(`[data-testid="prediction"] ${selector}`);
            e.textContent = text;
            return { text, client: e.clientWidth, scroll: e.scrollWidth, card: e.closest('.mask-group').clientWidth };
          },
          [selector, text],
        );
      const rows = [];
      for (const word of ['mountain', 'children', 'incomprehensibilities']) rows.push(await fit('.word', word));
      rows.push(await fit('.rank', '20'), await fit('.prob', '<0.01%'), await fit('.prob', '100.0%'));
      t.diagnostic(JSON.stringify(rows));
      const clipped = rows.filter((r) => r.scroll > r.client).map((r) => r.text);
      // The control: a 21-letter word does not fit even the phone's wider card, or this measures nothing.
      assert.deepEqual(clipped, ['incomprehensibilities'], `clipped: ${clipped}`);
      assert.deepEqual(problems, []);
    });
  }
});
