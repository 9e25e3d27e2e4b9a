// Browser tests of "Inside ALBERT": the depth slider, logit lens, drift, head switches (grid,
// model view, URL), neuron view and sentence order, each held against the `albert` CLI (the
// engine's CPU path, itself checked against transformers in crates/albert/tests/inside.rs).
// The model is the `pretraining` fixture: AlbertForPreTraining (MLM + SOP heads), 3 layers on
// one shared block (so depth runs 1..6), 4 heads.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  appUrl,
  assertSameTopK,
  cliJson,
  fixtures,
  hasDefaultModel,
  launch,
  readPredictions,
  readyStatus,
  root,
  screenshot,
  setRange,
  showcaseModel,
  startServers,
  waitPredictions,
} from './helpers.mjs';

const PRE = join(fixtures, 'pretraining');
const TEXT = 'the [MASK] sat on the mat.';
/** SwiftShader's f32 against the CLI's CPU f32 (the engine's GPU tolerance for probabilities). */
const TOL = 2e-4;
let s;

before(async () => {
  s = await startServers();
});
after(async () => {
  await s?.close();
});

function cli(extra = [], text = TEXT, k = 8) {
  return cliJson(['fill', '--model', PRE, '--text', text, '--top-k', String(k), '--lens', '--drift', ...extra]);
}

async function open(t, params = {}, opts = {}) {
  const ctx = await launch(t, opts);
  await ctx.page.goto(appUrl(s.app, { model: s.modelUrl('pretraining'), text: TEXT, ...params }));
  await readyStatus(ctx.page);
  await waitPredictions(ctx.page, 1);
  return ctx;
}

/** Waits until the shown forward ran `depth` layers. */
async function waitDepth(page, depth) {
  await page.waitForSelector(`[data-testid="lens"][data-depth="${depth}"] [data-testid="lens-row"]`);
  await page.waitForSelector(`[data-testid="drift"][data-depth="${depth}"] [data-testid="drift-point"]`);
}

async function readLens(page) {
  return page.$$eval('[data-testid="lens-row"]', (rows) =>
    rows.map((r) => ({
      layer: Number(r.dataset.layer),
      answer_rank: Number(r.dataset.answerRank),
      answer_prob: Number(r.dataset.answerProb),
      top: [...r.querySelectorAll('[data-testid="lens-prediction"]')].map((p) => ({ id: Number(p.dataset.id), prob: Number(p.dataset.prob) })),
    })),
  );
}

async function readDrift(page) {
  return page.$$eval('[data-testid="drift-point"]', (ps) =>
    ps.map((p) => ({ layer: Number(p.dataset.layer), l2: Number(p.dataset.l2), cosine: Number(p.dataset.cosine) })),
  );
}

function assertLens(pageLens, ref) {
  const want = ref.masks[0].lens;
  assert.equal(pageLens.length, want.length, 'one row per h_0..h_K');
  pageLens.forEach((row, i) => {
    const w = want[i];
    assert.equal(row.layer, w.layer);
    assert.equal(row.answer_rank, w.answer_rank, `layer ${w.layer}: rank of the answer`);
    assert.ok(Math.abs(row.answer_prob - w.answer_prob) <= TOL, `layer ${w.layer}: answer prob ${row.answer_prob} vs ${w.answer_prob}`);
    assert.equal(row.top.length, 5, 'top-5 per row');
    row.top.forEach((p, r) => {
      const tied = w.top_k.filter((q) => Math.abs(q.prob - w.top_k[r].prob) <= TOL).map((q) => q.id);
      assert.ok(tied.includes(p.id), `layer ${w.layer} rank ${r}: id ${p.id} vs ${w.top_k[r].id}`);
      assert.ok(Math.abs(p.prob - w.top_k[r].prob) <= TOL);
    });
  });
}

function assertDrift(pageDrift, ref) {
  assert.equal(pageDrift.length, ref.drift.length, 'one point per layer 1..K');
  pageDrift.forEach((p, i) => {
    const w = ref.drift[i];
    assert.equal(p.layer, w.layer);
    assert.ok(Math.abs(p.l2 - w.l2) <= 1e-3 * Math.max(1, w.l2), `layer ${w.layer}: L2 ${p.l2} vs ${w.l2}`);
    assert.ok(Math.abs(p.cosine - w.cosine) <= 1e-4, `layer ${w.layer}: cosine ${p.cosine} vs ${w.cosine}`);
  });
}

describe('Inside ALBERT on WebGPU (SwiftShader), pretraining fixture', () => {
  test('depth slider, lens and drift equal the CLI at the default depth and at depth 5 (past L, all shared); the URL keeps depth', async (t) => {
    const { page, problems } = await open(t);
    const depth = page.getByTestId('depth');
    assert.equal(await depth.getAttribute('max'), '6', 'an all-shared model runs up to 2L');
    assert.equal(await depth.inputValue(), '3');
    await waitDepth(page, 3);
    assertLens(await readLens(page), cli());
    assertDrift(await readDrift(page), cli());
    // textContent: a view out of sight is not rendered (content-visibility), so it has no innerText.
    assert.match(await page.getByTestId('drift-reading').textContent(), /This model: layer 1 moves the states by/);
    assert.match(await page.getByTestId('lens-reading').textContent(), /rank \d+/);

    await setRange(depth, 5);
    await waitDepth(page, 5);
    const ref5 = cli(['--depth', '5']);
    assertSameTopK(await readPredictions(page), ref5, TOL);
    assertLens(await readLens(page), ref5);
    assertDrift(await readDrift(page), ref5);
    assert.equal(await page.getByTestId('depth-value').innerText(), '5 of 3');
    assert.equal(new URL(page.url()).searchParams.get('depth'), '5');
    // The attention views follow: 5 layer applications.
    assert.equal(await page.getByTestId('model-view').getAttribute('data-layers'), '5');

    // Reopening the link restores the depth.
    await page.goto(page.url());
    await readyStatus(page);
    await waitDepth(page, 5);
    assert.equal(await page.getByTestId('depth').inputValue(), '5');
    assertSameTopK(await readPredictions(page), ref5, TOL);
    assert.deepEqual(problems, []);
  });

  test('head switches: the grid and the model view switch a head off in one layer; predictions equal --ablate; the URL keeps them; reset', async (t) => {
    const { page, problems } = await open(t, { depth: '4' });
    await waitDepth(page, 4);
    const sw = (l, h) => page.locator(`[data-testid="head-switch"][data-layer="${l}"][data-head="${h}"]`);
    assert.equal(await page.getByTestId('head-switch').count(), 4 * 4, 'K × inner rows of 4 heads');
    await sw('1.0', 1).click();
    assert.equal(await sw('1.0', 1).getAttribute('aria-pressed'), 'true');
    assert.equal(await sw('2.0', 1).getAttribute('aria-pressed'), 'false', 'the same head in the next layer stays on');
    // From the model view, in "switch heads" mode.
    await page.getByTestId('mv-mode-switch').check();
    await page.locator('[data-testid="model-view-cell"][data-application="2"][data-head="3"]').click();
    assert.equal(await sw('3.0', 3).getAttribute('aria-pressed'), 'true');
    const ref = cli(['--depth', '4', '--ablate', '1.0:1,3.0:3']);
    // The shown forward says which switches it applied.
    await page.waitForSelector('[data-testid="inside"][data-switches="1.0:1,3.0:3"]');
    assertSameTopK(await readPredictions(page), ref, TOL);
    assertLens(await readLens(page), ref);
    assert.notEqual(ref.masks[0].top_k[0].prob, cli(['--depth', '4']).masks[0].top_k[0].prob, 'the switches change the answer (else this test proves nothing)');
    assert.equal(new URL(page.url()).searchParams.get('off'), '1.0:1,3.0:3');
    assert.deepEqual(await page.$$eval('[data-testid="head-switch-item"]', (l) => l.map((e) => e.dataset.switch)), ['1.0:1', '3.0:3']);

    // The link restores both switches; a lower depth keeps layer 3's switch listed but not applied.
    await page.goto(page.url().replace('depth=4', 'depth=2'));
    await readyStatus(page);
    await waitDepth(page, 2);
    await page.waitForSelector('[data-testid="inside"][data-switches="1.0:1"]');
    assert.equal(await sw('1.0', 1).getAttribute('aria-pressed'), 'true');
    assert.match(await page.locator('[data-testid="head-switch-item"][data-switch="3.0:3"]').textContent(), /not applied: layer 3 is not run at depth 2/);
    assertSameTopK(await readPredictions(page), cli(['--depth', '2', '--ablate', '1.0:1']), TOL);

    await page.getByTestId('head-switch-reset').click();
    await page.waitForFunction(() => !new URL(location.href).searchParams.has('off'));
    const plain = cli(['--depth', '2']);
    await page.waitForSelector('[data-testid="inside"][data-switches=""]');
    assertSameTopK(await readPredictions(page), plain, TOL);
    assert.equal(await page.locator('[data-testid="head-switch"][aria-pressed="true"]').count(), 0);
    assert.deepEqual(problems, []);
  });

  test('neuron view: q and k of the chosen head; its softmax equals that head\'s attention row', async (t) => {
    const { page, problems } = await open(t);
    const view = page.getByTestId('neuron-view');
    await page.getByTestId('neuron-layer').selectOption('2.0');
    await page.getByTestId('neuron-head').selectOption('3');
    await page.waitForSelector('[data-testid="neuron-view"][data-layer="2.0"][data-head="3"] [data-testid="neuron-key"]');
    const ref = cliJson(['fill', '--model', PRE, '--text', TEXT, '--neuron', '2.0:3', '--attentions']);
    const q = Number(await view.getAttribute('data-query'));
    assert.equal(q, ref.masks[0].position, 'the query starts on the [MASK]');
    const keys = await page.$$eval('[data-testid="neuron-key"]', (ks) => ks.map((k) => ({ key: Number(k.dataset.key), score: Number(k.dataset.score), weight: Number(k.dataset.weight) })));
    const d = ref.neuron.q[0].length;
    assert.equal(keys.length, ref.ids.length);
    keys.forEach((k, j) => {
      const score = ref.neuron.q[q].reduce((a, x, i) => a + x * ref.neuron.k[j][i], 0) / Math.sqrt(d);
      assert.ok(Math.abs(k.score - score) <= 1e-3 * Math.max(1, Math.abs(score)), `key ${j}: score ${k.score} vs ${score}`);
      // Layer 2 is the second map (one inner layer), head 3, row q.
      const att = ref.attentions[1][3][q][j];
      assert.ok(Math.abs(k.weight - att) <= TOL, `key ${j}: weight ${k.weight} vs attention ${att}`);
    });
    // Another query token: no new forward needed, the rows follow.
    await page.getByTestId('neuron-query').selectOption('1');
    await page.waitForSelector('[data-testid="neuron-view"][data-query="1"]');
    const w1 = await page.$$eval('[data-testid="neuron-key"]', (ks) => ks.map((k) => Number(k.dataset.weight)));
    w1.forEach((w, j) => assert.ok(Math.abs(w - ref.attentions[1][3][1][j]) <= TOL));
    assert.deepEqual(problems, []);
  });

  test('sentence order: both orders equal `albert order`; swap; edits', async (t) => {
    const { page, problems } = await open(t);
    const order = page.getByTestId('order');
    // The app's starting pair (view_model::ORDER_EXAMPLE).
    const a = 'She opened the door and looked out into the rain.';
    const b = 'Then she closed it again and sat down by the fire.';
    await page.waitForSelector('[data-testid="order"][data-state="done"]');
    const check = async (x, y) => {
      const ab = cliJson(['order', '--model', PRE, '--a', x, '--b', y]).in_order_prob;
      const ba = cliJson(['order', '--model', PRE, '--a', y, '--b', x]).in_order_prob;
      await page.waitForFunction(
        ([p, q]) => {
          const o = document.querySelector('[data-testid="order"]');
          return o.dataset.state === 'done' && Math.abs(Number(o.dataset.inOrderProb) - p) < 1e-4 && Math.abs(Number(o.dataset.swappedProb) - q) < 1e-4;
        },
        [ab, ba],
      );
      assert.notEqual(ab.toFixed(4), ba.toFixed(4), 'the two orders differ (else swapping proves nothing)');
    };
    await check(a, b);
    // A model whose held-out accuracy the build does not know gets no accuracy line.
    assert.equal(await page.getByTestId('order-heldout').count(), 0);
    assert.equal(await page.getByTestId('heldout').count(), 0);
    await page.getByTestId('order-swap').click();
    assert.equal(await page.getByTestId('order-a').inputValue(), b);
    await check(b, a);
    await page.getByTestId('order-b').fill('The cat sat on the mat.');
    await check(b, 'The cat sat on the mat.');
    await page.getByTestId('order-a').fill('   ');
    await page.waitForSelector('[data-testid="order"][data-state="error"]');
    assert.match(await page.getByTestId('order-error').innerText(), /sentence A is empty/);
    assert.equal(await order.getAttribute('data-in-order-prob'), null);
    assert.deepEqual(problems, []);
  });

  test('a checkpoint without the SOP head gets a note, and the other views still work', async (t) => {
    const ctx = await launch(t);
    await ctx.page.goto(appUrl(s.app, { model: s.modelUrl('tiny'), text: TEXT }));
    await readyStatus(ctx.page);
    await ctx.page.waitForSelector('[data-testid="order"][data-state="no-head"]');
    assert.match(await ctx.page.getByTestId('order-note').innerText(), /cannot judge sentence order: .*sop_classifier/);
    await ctx.page.waitForSelector('[data-testid="lens-row"]');
    assert.deepEqual(ctx.problems, []);
  });
});

describe('the embedded default model', { skip: !hasDefaultModel && 'SKIPPED: this build has no embedded default model' }, () => {
  test('judges sentence order out of the box, as `albert order` does on assets/model, with its held-out accuracy', async (t) => {
    const { page, problems } = await launch(t);
    await page.goto(appUrl(s.app, {}));
    await readyStatus(page);
    await page.waitForSelector('[data-testid="order"][data-state="done"]');
    const [a, b] = [await page.getByTestId('order-a').inputValue(), await page.getByTestId('order-b').inputValue()];
    const model = join(root, 'assets/model');
    const ab = cliJson(['order', '--model', model, '--a', a, '--b', b]).in_order_prob;
    const ba = cliJson(['order', '--model', model, '--a', b, '--b', a]).in_order_prob;
    const o = page.getByTestId('order');
    assert.ok(Math.abs(Number(await o.getAttribute('data-in-order-prob')) - ab) < TOL, `in order: app ${await o.getAttribute('data-in-order-prob')}, CLI ${ab}`);
    assert.ok(Math.abs(Number(await o.getAttribute('data-swapped-prob')) - ba) < TOL, `swapped: app ${await o.getAttribute('data-swapped-prob')}, CLI ${ba}`);
    t.diagnostic(`embedded model: P(in order) ${ab.toFixed(3)}, swapped ${ba.toFixed(3)}`);
    // Which order it prefers, and how often it is right on held-out pairs: the card's numbers
    // (assets/model/eval.json, carried by the build's manifest), printed as the app rounds them.
    const verdict = Math.abs(ab - ba) < 0.01 ? /cannot tell/ : ab > ba ? /takes A then B/ : /takes B then A/;
    assert.match(await page.getByTestId('order-verdict').innerText(), verdict);
    const ev = JSON.parse(readFileSync(join(model, 'eval.json'), 'utf8'));
    const pct = (x) => `${(Math.fround(x) * 100).toFixed(1)}%`;
    const note = await page.getByTestId('order-heldout').innerText();
    // The figure closest to two typed sentences that the evaluation has (as
    // scripts/trunk-post-build.mjs carries it): two single sentences, else the pairs that meet
    // between sentences, else the whole set's.
    const typed = ev.sop_sentence_pairs?.examples > 0 ? ev.sop_sentence_pairs : null;
    const between = ev.sop_by_split?.sentences?.examples > 0 ? ev.sop_by_split.sentences : null;
    const [n, acc, what] = typed
      ? [typed.examples, typed.sop_acc, ' pairs of two consecutive sentences from books it never trained on, as you type them here,']
      : between
        ? [between.examples, between.sop_acc, ' pairs from books it never trained on that meet between two sentences,']
        : [ev.examples, ev.sop_acc, ' pairs from books it never trained on,'];
    assert.ok(note.includes(`tells the original order from the swapped one ${pct(acc)} of the time`), note);
    assert.ok(note.startsWith(`On ${n.toLocaleString('en-US')}${what} this model`), note);
    const facts = await page.getByTestId('heldout').innerText();
    const rule = typeof ev.sop_length_rule === 'number' ? ` (${pct(ev.sop_length_rule)} by the segments' lengths alone)` : '';
    assert.ok(facts.startsWith(`${pct(ev.single_token_mlm_top1)} of masked words right at the first guess · ${pct(ev.sop_acc)} of sentence orders${rule} · `), facts);
    t.diagnostic(note);
    assert.deepEqual(problems, []);
  });
});

describe('README screenshots', () => {
  test('lens, drift, switches, neuron view and sentence order on the showcase model', async (t) => {
    const show = showcaseModel(s);
    const { page, problems } = await launch(t, { viewport: { width: 1280, height: 1000 } });
    await page.goto(appUrl(s.app, { ...show.params, text: 'The capital of France is [MASK].', off: '2.0:1' }));
    await readyStatus(page);
    await page.waitForSelector('[data-testid="inside"][data-switches="2.0:1"] [data-testid="lens-row"]');
    for (const [id, name] of [['lens', 'inside-lens.png'], ['drift', 'inside-drift.png'], ['head-switches', 'inside-switches.png'], ['neuron-view', 'inside-neuron.png']]) {
      await screenshot(page.getByTestId(id), name);
    }
    await screenshot(page.locator('section.card.fill'), 'depth-slider.png');
    // The embedded default ships its SOP head; without it (a build with no default model) the
    // sentence-order screenshot comes from the `pretraining` fixture.
    if (!hasDefaultModel) await page.goto(appUrl(s.app, { model: s.modelUrl('pretraining') }));
    await page.waitForSelector('[data-testid="order"][data-state="done"]');
    await screenshot(page.locator('.order-card'), 'order.png');
    assert.deepEqual(problems, []);
  });
});

describe('Inside ALBERT on the CPU backend', () => {
  test('lens, drift and switches equal the CLI', async (t) => {
    const { page, problems } = await open(t, { backend: 'cpu', depth: '2', off: '2.0:0' }, { webgpu: false });
    await waitDepth(page, 2);
    const ref = cli(['--depth', '2', '--ablate', '2.0:0']);
    assertSameTopK(await readPredictions(page), ref, TOL);
    assertLens(await readLens(page), ref);
    assertDrift(await readDrift(page), ref);
    assert.deepEqual(problems, []);
  });
});
