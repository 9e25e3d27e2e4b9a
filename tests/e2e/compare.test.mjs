// Browser tests of the side-by-side card: each side's top-k equals a single run of its sentence
// (the `albert` CLI), each candidate carries both sides' probabilities from the full
// distributions, and the difference heatmap's cells equal A − B of the two forwards' attention;
// sentences of different lengths say why there is no heatmap. The `pretraining` fixture: 3
// layers, 4 heads, V = 1000 (so `--top-k 1000` is the whole distribution).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { appUrl, assertSameTopK, cliJson, fixtures, launch, readyStatus, screenshot, startServers } from './helpers.mjs';

const PRE = join(fixtures, 'pretraining');
const A = 'the cat said [MASK] was late.';
const B = 'the dog said [MASK] was late.';
const TOL = 2e-4;
let s;

before(async () => {
  s = await startServers();
});
after(async () => {
  await s?.close();
});

const full = (text) => cliJson(['fill', '--model', PRE, '--text', text, '--top-k', '1000', '--attentions']);

async function readSide(page, side) {
  return page.$$eval(`[data-testid="compare-side"][data-side="${side}"] [data-testid="compare-mask"]`, (groups) =>
    groups.map((g) => ({
      position: Number(g.dataset.position),
      top_k: [...g.querySelectorAll('[data-testid="prediction"]')].map((p) => ({ token: p.dataset.token, id: Number(p.dataset.id), prob: Number(p.dataset.prob) })),
    })),
  );
}

async function waitSides(page) {
  await page.waitForFunction(() =>
    ['a', 'b'].every((x) => document.querySelector(`[data-testid="compare-side"][data-side="${x}"] [data-testid="prediction"]`)),
  );
}

describe('side by side (WebGPU, pretraining fixture)', () => {
  test('both sides equal single runs; candidates carry both probabilities; the diff heatmap is A − B; the link keeps both texts', async (t) => {
    const { page, problems } = await launch(t);
    await page.goto(appUrl(s.app, { model: s.modelUrl('pretraining'), text: A, ca: A, cb: B }));
    await readyStatus(page);
    assert.equal(await page.locator('[data-testid="compare"] details').evaluate((d) => d.open), true, 'a link with ca/cb opens the card');
    await waitSides(page);
    const [ra, rb] = [full(A), full(B)];
    assertSameTopK(await readSide(page, 'a'), ra, TOL);
    assertSameTopK(await readSide(page, 'b'), rb, TOL);
    const prob = (r, id) => r.masks[0].top_k.find((p) => p.id === id).prob;
    const cands = await page.$$eval('[data-testid="compare-candidate"]', (rows) => rows.map((r) => ({ id: Number(r.dataset.id), a: Number(r.dataset.probA), b: Number(r.dataset.probB) })));
    const ids = new Set([...ra.masks[0].top_k.slice(0, 5), ...rb.masks[0].top_k.slice(0, 5)].map((p) => p.id));
    assert.deepEqual(new Set(cands.map((c) => c.id)), ids, 'the union of both top-5s');
    for (const c of cands) {
      assert.ok(Math.abs(c.a - prob(ra, c.id)) <= TOL, `id ${c.id}: A ${c.a} vs ${prob(ra, c.id)}`);
      assert.ok(Math.abs(c.b - prob(rb, c.id)) <= TOL, `id ${c.id}: B ${c.b} vs ${prob(rb, c.id)}`);
    }

    // The heatmap: mean of heads at layer 0 first, then layer 2 head 1.
    assert.equal(ra.ids.length, rb.ids.length, 'the fixture sentences have the same length in tokens');
    const n = ra.ids.length;
    const check = async (layer, head) => {
      const sel = `[data-testid="diff-cell"][data-layer="${layer}"][data-head="${head}"]`;
      await page.waitForSelector(sel);
      const cells = await page.$$eval(sel, (cs) => cs.map((c) => ({ r: Number(c.dataset.row), c: Number(c.dataset.col), v: Number(c.dataset.value) })));
      assert.equal(cells.length, n * n);
      const at = (ref, r, c) => (head === 'mean' ? ref.attentions[layer].reduce((acc, h) => acc + h[r][c], 0) / ref.attentions[layer].length : ref.attentions[layer][head][r][c]);
      for (const x of cells) {
        const want = at(ra, x.r, x.c) - at(rb, x.r, x.c);
        assert.ok(Math.abs(x.v - want) <= TOL, `layer ${layer} head ${head} (${x.r}, ${x.c}): ${x.v} vs ${want}`);
      }
      assert.ok(cells.some((x) => Math.abs(x.v) > 1e-3), 'one word apart, the attention differs somewhere');
    };
    await check(0, 'mean');
    await page.getByTestId('diff-layer').selectOption('2');
    await page.getByTestId('diff-head').selectOption('1');
    await check(2, 1);
    await screenshot(page.getByTestId('compare'), 'compare.png');

    // Typing in B: the URL keeps it; a different length says why there is no heatmap.
    await page.getByTestId('compare-b').fill('the young nurse said [MASK] was very late.');
    await page.waitForSelector('[data-testid="diff-reason"]');
    assert.match(await page.getByTestId('diff-reason').innerText(), /A has \d+ tokens and B has \d+/);
    assert.equal(new URL(page.url()).searchParams.get('cb'), 'the young nurse said [MASK] was very late.');
    await waitSides(page);
    assertSameTopK(await readSide(page, 'b'), full('the young nurse said [MASK] was very late.'), TOL);
    // Bad input on one side is that side's message; the other side still shows.
    await page.getByTestId('compare-a').fill('no mask here');
    await page.waitForSelector('[data-testid="compare-side"][data-side="a"] .fill-error');
    assert.deepEqual(problems, []);
  });

  test('closed by default; opening it runs the forwards', async (t) => {
    const { page, problems } = await launch(t);
    await page.goto(appUrl(s.app, { model: s.modelUrl('pretraining'), text: A }));
    await readyStatus(page);
    assert.equal(await page.locator('[data-testid="compare"] details').evaluate((d) => d.open), false);
    assert.equal(await page.locator('[data-testid="compare-side"] [data-testid="prediction"]').count(), 0);
    await page.getByTestId('compare-toggle').click();
    await waitSides(page);
    assertSameTopK(await readSide(page, 'a'), full('The doctor said [MASK] was late.'), TOL);
    assert.deepEqual(problems, []);
  });
});
