// Browser tests for the attention views (src/attention/views.rs) on the real app.
//
// Serves dist/ and the engine's `groups` fixture (4 layers × 2 inner layers = 8 attention
// maps, 3 heads, layers 0–1 on group 0 and 2–3 on group 1) from one origin, loads the fixture
// with ?model=…&text=…, and checks the head view, model view, heatmap and rollout against the
// model's shape and against transformers' own attention probabilities (golden.safetensors).
// Saves a screenshot of each view (helpers.screenshot: tests/e2e/screenshots/, and
// docs/screenshots/ with UPDATE_SCREENSHOTS=1).
//
//   node --test tests/e2e/attention.test.mjs     (after trunk build --release)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from '../../scripts/static-server.mjs';
import { screenshot } from './helpers.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const dist = join(root, 'dist');
const fixture = join(root, 'crates/albert/tests/fixtures/groups');
const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

const ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--enable-unsafe-webgpu',
];
const LOAD_TIMEOUT_MS = 120_000;

// The fixture's shape (config.json) and golden outputs (transformers 4.46.3).
const config = JSON.parse(readFileSync(join(fixture, 'config.json'), 'utf8'));
const golden = JSON.parse(readFileSync(join(fixture, 'golden.json'), 'utf8'));
const TEXT = golden.texts[0][0]; // "The capital of France is [MASK]."
const TOKENS = golden.tokens[0].filter((t) => t !== '<pad>');
const T = TOKENS.length;
const MASK = TOKENS.indexOf('[MASK]');
const HEADS = config.num_attention_heads;
const INNER = config.inner_group_num;
const MAPS = config.num_hidden_layers * INNER;
const groupOfApplication = (l) => Math.floor(l / (config.num_hidden_layers / config.num_hidden_groups));

/** `attentions.i` from golden.safetensors: [batch, heads, P, P], P the padded length. */
function goldenAttentions() {
  const buf = readFileSync(join(fixture, 'golden.safetensors'));
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  const maps = [];
  for (let i = 0; i < MAPS; i++) {
    const e = header[`attentions.${i}`];
    assert.equal(e.dtype, 'F32');
    const [s, end] = e.data_offsets;
    const bytes = buf.subarray(8 + n + s, 8 + n + end);
    const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
    const [, heads, p] = e.shape;
    // Batch row 0, the T × T block of real tokens (padding keys get zero probability).
    maps.push((h, q, k) => data[(h * p + q) * p + k]);
    assert.equal(heads, HEADS);
  }
  return maps;
}

/** Abnar & Zuidema rollout, written independently of the Rust code. */
function rollout(maps) {
  let r = Array.from({ length: T }, (_, i) => Array.from({ length: T }, (_, j) => (i === j ? 1 : 0)));
  for (const a of maps) {
    const ar = Array.from({ length: T }, (_, q) => {
      const row = Array.from({ length: T }, (_, k) => {
        let m = 0;
        for (let h = 0; h < HEADS; h++) m += a(h, q, k);
        return 0.5 * (m / HEADS) + (q === k ? 0.5 : 0);
      });
      const sum = row.reduce((x, y) => x + y, 0);
      return row.map((v) => v / sum);
    });
    r = ar.map((row) => Array.from({ length: T }, (_, j) => row.reduce((acc, v, k) => acc + v * r[k][j], 0)));
  }
  return r;
}

let server;
let servedRoot;

before(async () => {
  assert.ok(
    existsSync(join(dist, 'index.html')),
    `${dist}/index.html is missing: build the app first (trunk build --release, as scripts/test does)`,
  );
  assert.ok(existsSync(executablePath), `no Chromium at ${executablePath} (scripts/setup installs it)`);
  // One origin for the app and the model (the page is cross-origin isolated): a temporary
  // root of links to dist/'s entries plus fixtures/groups.
  servedRoot = mkdtempSync(join(tmpdir(), 'albert-lens-attention-'));
  for (const entry of readdirSync(dist)) symlinkSync(join(dist, entry), join(servedRoot, entry));
  mkdirSync(join(servedRoot, 'fixtures'));
  symlinkSync(fixture, join(servedRoot, 'fixtures', 'groups'));
  server = await startServer({ root: servedRoot, port: 0 });
});

after(async () => {
  await server?.close();
  if (servedRoot) rmSync(servedRoot, { recursive: true, force: true });
});

/** Opens the app on the fixture with `text` and waits for the predictions. */
async function openFixture(t, text, { colorScheme = 'light' } = {}) {
  const browser = await chromium.launch({ executablePath, headless: true, args: ARGS });
  t.after(() => browser.close());
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    // Missing optional model files are 404s by design; everything else is a problem.
    if (msg.type() === 'error' && !/Failed to load resource/.test(msg.text())) problems.push(`console.error: ${msg.text()}`);
  });
  const model = `${server.url}fixtures/groups/`;
  const url = `${server.url}?model=${encodeURIComponent(model)}&text=${encodeURIComponent(text)}`;
  await page.goto(url);
  await page.waitForSelector('[data-testid="prediction"]', { timeout: LOAD_TIMEOUT_MS });
  await page.waitForSelector('[data-testid="head-view"][data-tokens]', { timeout: 30_000 });
  return { page, problems };
}

const dataset = (page, testid) => page.getByTestId(testid).evaluate((e) => ({ ...e.dataset }));

describe('attention views on the groups fixture (8 maps, 3 heads, 2 shared groups)', () => {
  test('layers, heads and tokens; groups labelled; values match transformers; screenshots', async (t) => {
    const { page, problems } = await openFixture(t, TEXT);
    const maps = goldenAttentions();

    // --- counts on every view ---
    for (const id of ['head-view', 'model-view', 'heatmap']) {
      const d = await dataset(page, id);
      assert.equal(d.layers, String(MAPS), `${id} data-layers`);
      assert.equal(d.heads, String(HEADS), `${id} data-heads`);
      assert.equal(d.tokens, String(T), `${id} data-tokens`);
    }
    assert.equal(await page.getByTestId('token').count(), T, 'the fill UI shows the same tokens');
    assert.match(await page.getByTestId('attention-summary').textContent(), /8 attention maps \(4 layers × 2 inner\) running 2 shared blocks/);

    // --- head view: two columns of T tokens, one toggle per head, a layer per map ---
    const hv = page.getByTestId('head-view');
    assert.equal(await hv.locator('.hv-q .hv-tok').count(), T);
    assert.equal(await hv.locator('.hv-k .hv-tok').count(), T);
    assert.equal(await hv.locator('.hv-q .hv-tok').nth(MASK).getAttribute('title'), `${TOKENS[MASK]} (position ${MASK})`);
    assert.equal(await hv.getByTestId('head-toggle').count(), HEADS);
    // textContent: a view out of sight is not rendered (content-visibility), so it has no innerText.
    const layerOptions = await hv.getByTestId('head-view-layer').locator('option').allTextContents();
    assert.equal(layerOptions.length, MAPS);
    for (let i = 0; i < MAPS; i++) {
      const app = Math.floor(i / INNER);
      // Layers count from 1 (as in the CLI's --ablate and the Inside views), inner layers from 0.
      assert.equal(layerOptions[i].trim(), `layer ${app + 1}.${i % INNER} · group ${groupOfApplication(app)}`);
    }
    // Hovering a token keeps only its lines: T keys × 3 heads at most.
    await hv.locator('.hv-q .hv-tok').nth(MASK).hover();
    const focused = await hv.locator('.hv-lines line').count();
    assert.ok(focused > 0 && focused <= T * HEADS, `lines for one query: ${focused}`);
    // Switching a head off removes its lines (keyboard: Space on the toggle).
    const toggle = hv.getByTestId('head-toggle').nth(0);
    await toggle.focus();
    await page.keyboard.press('Space');
    assert.equal(await toggle.getAttribute('aria-pressed'), 'false');
    await hv.locator('.hv-q .hv-tok').nth(MASK).hover();
    const without0 = await hv.locator('.hv-lines line').count();
    assert.ok(without0 < focused, `head 0 off: ${without0} lines, was ${focused}`);
    await toggle.click();
    assert.equal(await toggle.getAttribute('aria-pressed'), 'true');
    await page.mouse.move(0, 0);
    await screenshot(hv, 'head-view.png');

    // --- model view: one cell per (map, head), each labelled with its group ---
    const cells = page.getByTestId('model-view-cell');
    assert.equal(await cells.count(), MAPS * HEADS);
    const attrs = await cells.evaluateAll((els) => els.map((e) => ({ ...e.dataset })));
    for (let i = 0; i < MAPS; i++) {
      for (let h = 0; h < HEADS; h++) {
        const c = attrs[i * HEADS + h];
        const app = Math.floor(i / INNER);
        assert.deepEqual(
          [c.layer, c.head, c.application, c.inner, c.group],
          [String(i), String(h), String(app), String(i % INNER), String(groupOfApplication(app))],
          `cell ${i}×${h}`,
        );
      }
    }
    // Layers 0–1 run group 0, layers 2–3 group 1.
    assert.deepEqual([...new Set(attrs.filter((c) => Number(c.application) <= 1).map((c) => c.group))], ['0']);
    assert.deepEqual([...new Set(attrs.filter((c) => Number(c.application) >= 2).map((c) => c.group))], ['1']);
    await screenshot(page.getByTestId('model-view'), 'model-view.png', { blur: false });

    // --- heatmap: open layer 5 head 2 from the model view, hover a cell, read its value ---
    const [L, H, Q, K] = [5, 2, MASK, 1];
    await page.locator(`[data-testid="model-view-cell"][data-layer="${L}"][data-head="${H}"]`).click();
    const hm = page.getByTestId('heatmap');
    assert.equal((await dataset(page, 'heatmap')).layer, String(L));
    assert.equal((await dataset(page, 'heatmap')).head, String(H));
    const canvas = page.getByTestId('heatmap-canvas');
    const box = await canvas.boundingBox();
    const cell = box.width / T;
    await canvas.hover({ position: { x: (K + 0.5) * cell, y: (Q + 0.5) * cell } });
    const readout = (await page.getByTestId('heatmap-readout').textContent()).trim();
    const m = readout.match(/^(.+) \((\d+)\) → (.+) \((\d+)\): (\d\.\d{3})$/);
    assert.ok(m, `readout: ${JSON.stringify(readout)}`);
    assert.deepEqual([m[1], Number(m[2]), m[3], Number(m[4])], [TOKENS[Q], Q, TOKENS[K], K]);
    const expected = maps[L](H, Q, K);
    assert.ok(Math.abs(Number(m[5]) - expected) < 2e-3, `heatmap shows ${m[5]}, transformers ${expected}`);
    await screenshot(hm, 'heatmap.png', { blur: false });
    // Keyboard: arrows move the cell being read.
    await canvas.focus();
    await page.keyboard.press('ArrowRight');
    assert.match(await page.getByTestId('heatmap-readout').textContent(), new RegExp(`\\(${K + 1}\\): \\d\\.\\d{3}`));
    // Mean of heads.
    await page.getByTestId('heatmap-head').selectOption('mean');
    assert.equal((await dataset(page, 'heatmap')).head, 'mean');

    // --- rollout: the [MASK] row of the rolled-out attention, as computed here ---
    const ro = await dataset(page, 'rollout');
    assert.equal(ro.masks, '1');
    assert.equal(ro.mask, String(MASK));
    assert.equal(ro.tokens, String(T));
    const bars = page.getByTestId('rollout-bar');
    assert.equal(await bars.count(), T);
    const values = (await bars.evaluateAll((els) => els.map((e) => e.dataset.value))).map(Number);
    const want = rollout(maps)[MASK];
    const sum = values.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - 1) < 2e-3, `rollout sums to ${sum}`);
    values.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 2e-3, `rollout[${i}] = ${v}, expected ${want[i]}`));
    assert.equal(await page.getByTestId('rollout-map-wait').count(), 0, `${T} tokens: the whole map is drawn at once`);
    await screenshot(page.getByTestId('rollout'), 'rollout.png', { blur: false });

    assert.deepEqual(problems, []);
  });

  test('several masks: the rollout follows the chosen one; keyboard opens model view cells; no layout jumps', async (t) => {
    const { page, problems } = await openFixture(t, 'The [MASK] of France is [MASK].');
    const positions = await page.getByTestId('mask').evaluateAll((els) => els.map((e) => e.dataset.position));
    assert.equal(positions.length, 2);
    const ro = await dataset(page, 'rollout');
    assert.equal(ro.masks, '2');
    assert.equal(ro.mask, positions[0]);
    await page.getByTestId('rollout-mask').selectOption({ index: 1 });
    assert.equal((await dataset(page, 'rollout')).mask, positions[1]);
    assert.equal(await page.locator('[data-testid="rollout-bar"].selected').count(), 1);
    assert.equal(await page.locator('[data-testid="rollout-bar"].selected').getAttribute('data-token'), positions[1]);

    // Model view from the keyboard: focus the first cell, move with arrows, Enter opens it.
    const first = page.locator('[data-testid="model-view-cell"][data-layer="0"][data-head="0"]');
    await first.focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Enter');
    const hm = await dataset(page, 'heatmap');
    assert.deepEqual([hm.layer, hm.head], ['1', '1']);
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'heatmap-canvas');

    // A longer input (50 tokens) changes no view's size: the areas scroll instead. Sizes are
    // measured laid out: a view out of sight (`content-visibility: auto`) reports its remembered
    // size, or 30rem if it was never on screen, so which views the scrolling had shown decided
    // the numbers, not the layout.
    await page.addStyleTag({ content: '.att-view { content-visibility: visible !important; }' });
    const heights = () =>
      page.evaluate(() =>
        ['head-view', 'model-view', 'heatmap', 'rollout'].map((id) => [id, document.querySelector(`[data-testid="${id}"]`).getBoundingClientRect().height]),
      );
    const before = await heights();
    const oldTokens = (await dataset(page, 'heatmap')).tokens;
    await page.getByTestId('sentence').fill('The capital of France is [MASK]. '.repeat(4).trim());
    await page.waitForFunction(
      (old) => {
        const d = document.querySelector('[data-testid="heatmap"]')?.dataset;
        return d?.tokens && d.tokens !== old;
      },
      oldTokens,
      { timeout: LOAD_TIMEOUT_MS },
    );
    await page.waitForSelector('[data-testid="prediction"]');
    const tokens = await page.getByTestId('token').count();
    assert.equal((await dataset(page, 'heatmap')).tokens, String(tokens));
    assert.ok(tokens >= 40, `${tokens} tokens`);
    assert.equal((await dataset(page, 'rollout')).masks, '4');
    assert.deepEqual(await heights(), before);
    const scroll = await page.locator('.hm-scroll').evaluate((e) => [e.scrollHeight, e.clientHeight]);
    assert.ok(scroll[0] > scroll[1], `the heatmap scrolls: ${scroll}`);
    assert.deepEqual(problems, []);
  });

  test('dark mode keeps every view', async (t) => {
    const { page, problems } = await openFixture(t, TEXT, { colorScheme: 'dark' });
    for (const id of ['head-view', 'model-view', 'heatmap', 'rollout']) {
      assert.ok(await page.getByTestId(id).isVisible(), id);
    }
    const bg = await page.getByTestId('model-view').evaluate((e) => getComputedStyle(e.querySelector('.mv-rowhead')).backgroundColor);
    assert.notEqual(bg, 'rgb(255, 255, 255)', 'sticky labels follow the dark surface');
    assert.deepEqual(problems, []);
  });
});
