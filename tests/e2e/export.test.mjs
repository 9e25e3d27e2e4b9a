// Browser tests of the exports (issue 14, item 4): every view's `export-svg` and `export-png`,
// the attentions' `export-json` and the predictions' `export-json` / `export-csv`, each a real
// download (Playwright's `download` event) that must parse: SVG as XML with the title line,
// PNG by its signature and size (2× the SVG's), JSON against the `albert` CLI's output for the
// same sentence, CSV as one row per prediction. The buttons are pressed with the keyboard too.
// The model is the `pretraining` fixture (3 layers on one shared block, 4 heads), on WebGPU.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  appUrl,
  assertSameTopK,
  cliJson,
  docsShots,
  fixtures,
  launch,
  readPredictions,
  readyStatus,
  runShots,
  showcaseModel,
  startServers,
  updateDocsShots,
  waitPredictions,
} from './helpers.mjs';

const PRE = join(fixtures, 'pretraining');
// A comma and quotes in the tokens: CSV quoting and XML escaping both matter.
const TEXT = 'the [MASK] sat, "well" & <ok>.';
/** SwiftShader's f32 against the CLI's CPU f32. */
const TOL = 2e-4;
let s;

before(async () => {
  s = await startServers();
});
after(async () => {
  await s?.close();
});

async function open(t) {
  const ctx = await launch(t);
  await ctx.page.goto(appUrl(s.app, { model: s.modelUrl('pretraining'), text: TEXT, k: '5' }));
  await readyStatus(ctx.page);
  await waitPredictions(ctx.page, 1);
  await ctx.page.waitForSelector('[data-testid="drift"] [data-testid="export-svg"]:not([disabled])');
  return ctx;
}

/** Presses `hook` inside the view `scope` (by mouse, or by focus + Enter) and reads the download. */
async function download(page, scope, hook, { keyboard = false } = {}) {
  const button = page.locator(`[data-testid="${scope}"] [data-testid="${hook}"]`);
  assert.equal(await button.count(), 1, `one ${hook} in ${scope}`);
  const waiting = page.waitForEvent('download');
  if (keyboard) {
    await button.focus();
    await page.keyboard.press('Enter');
  } else {
    await button.click();
  }
  const dl = await waiting;
  assert.equal(await dl.failure(), null, `${scope} ${hook}: download failed`);
  return { name: dl.suggestedFilename(), bytes: readFileSync(await dl.path()) };
}

/** Parses an SVG in the page (the browser's XML parser) and reads its size and title line. */
async function parseSvg(page, text) {
  return page.evaluate((src) => {
    const doc = new DOMParser().parseFromString(src, 'image/svg+xml');
    const root = doc.documentElement;
    return {
      error: doc.querySelector('parsererror')?.textContent ?? null,
      root: root.localName,
      ns: root.namespaceURI,
      width: Number(root.getAttribute('width')),
      height: Number(root.getAttribute('height')),
      title: doc.querySelector('title')?.textContent ?? '',
      line: doc.querySelector('[data-role="title"]')?.textContent ?? '',
      model: doc.querySelector('[data-role="model"]')?.textContent ?? '',
      sub: doc.querySelector('[data-role="subtitle"]')?.textContent ?? '',
    };
  }, text);
}

/** Width and height from a PNG's IHDR, after checking the signature. */
function pngSize(bytes) {
  assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  assert.equal(bytes.subarray(12, 16).toString('latin1'), 'IHDR');
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

/** RFC 4180 rows (quoted fields with doubled quotes, CRLF line ends). */
function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n') {
      row.push(field.replace(/\r$/, ''));
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field || row.length) rows.push([...row, field]);
  return rows;
}

describe('exports', () => {
  test('every view downloads an SVG that parses, with its title line, and a PNG at 2×', async (t) => {
    const { page, problems } = await open(t);
    // The heatmap shows layer 2, head 1: its file and title say so.
    await page.getByTestId('heatmap-layer').selectOption('1');
    await page.getByTestId('heatmap-head').selectOption('1');
    await page.waitForSelector('[data-testid="heatmap"][data-layer="1"][data-head="1"]');
    const views = {
      heatmap: { name: 'albert-lens-heatmap-2-1', layer: 'layer 2 · block 0', head: 'head 1' },
      'head-view': { name: 'albert-lens-head-view-1-all', layer: 'layer 1 · block 0', head: 'all heads' },
      'model-view': { name: 'albert-lens-model-view-all-all', layer: 'all 3 layers', head: 'all 4 heads' },
      rollout: { name: 'albert-lens-rollout-all-mean-mask2', layer: 'rollout over all 3 layers', head: 'mean of heads · [MASK] at position 2' },
      lens: { name: 'albert-lens-lens-all-mask2', layer: 'layers h0 to 3', head: '[MASK] at position 2' },
      drift: { name: 'albert-lens-drift-all', layer: 'layers 1 to 3', head: 'all heads' },
      'neuron-view': { name: 'albert-lens-neuron-1-0-q2', layer: 'layer 1', head: 'head 0 · query “[MASK]” (position 2)' },
      fill: { name: 'albert-lens-predictions-top5', layer: 'after all layers', head: 'top 5 for 1 [MASK]' },
    };
    const model = s.modelUrl('pretraining');
    for (const [scope, want] of Object.entries(views)) {
      // The heatmap's SVG by keyboard: the buttons are plain buttons.
      const svg = await download(page, scope, 'export-svg', { keyboard: scope === 'heatmap' });
      assert.equal(svg.name, `${want.name}.svg`);
      const text = svg.bytes.toString('utf8');
      assert.match(text, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      const doc = await parseSvg(page, text);
      assert.equal(doc.error, null, `${scope}: the SVG parses as XML`);
      assert.equal(doc.root, 'svg');
      assert.equal(doc.ns, 'http://www.w3.org/2000/svg');
      const head = `${model} · “${TEXT}” · ${want.layer} · ${want.head}`;
      assert.ok(doc.title.startsWith(head), `${scope}: title names model, sentence, layer, head: ${doc.title}`);
      // Shown: the sentence (bold), the model, then the layer and head.
      assert.equal(doc.line, `“${TEXT}”`, `${scope}: visible sentence`);
      assert.equal(doc.model, model, `${scope}: visible model`);
      assert.ok(doc.sub.startsWith(`${want.layer} · ${want.head}`), `${scope}: visible layer and head: ${doc.sub}`);
      assert.ok(doc.width >= 360 && doc.height > 40, `${scope}: size ${doc.width}×${doc.height}`);

      const png = await download(page, scope, 'export-png');
      assert.equal(png.name, `${want.name}.png`);
      assert.deepEqual(pngSize(png.bytes), { width: 2 * doc.width, height: 2 * doc.height }, `${scope}: PNG at 2× the SVG`);
      // Drawn, not blank: a 2× PNG of a figure is far more than a header.
      assert.ok(png.bytes.length > 2000, `${scope}: PNG of ${png.bytes.length} bytes`);
    }
    assert.deepEqual(problems, []);
  });

  test('the head-switch grid, the side-by-side A − B map and the sentence-order card download as SVG and PNG', async (t) => {
    const { page, problems } = await open(t);
    const model = s.modelUrl('pretraining');
    await page.locator('[data-testid="head-switch"][data-layer="2.0"][data-head="1"]').click();
    await page.waitForSelector('[data-testid="inside"][data-switches="2.0:1"]');
    await waitPredictions(page, 1);
    const sw = await download(page, 'head-switches', 'export-svg');
    assert.equal(sw.name, 'albert-lens-switches-1off.svg');
    const swText = sw.bytes.toString('utf8');
    const swDoc = await parseSvg(page, swText);
    assert.equal(swDoc.error, null, 'the switches SVG parses');
    assert.equal(swDoc.title, `${model} · “${TEXT}” · layers 1 to 3 · 1 of 12 heads switched off`);
    assert.equal((swText.match(/<line /g) ?? []).length, 2, 'one crossed cell');
    assert.match(swText, /Switched off \(--ablate\): 2\.0:1/);
    const swPng = await download(page, 'head-switches', 'export-png');
    assert.deepEqual(pngSize(swPng.bytes), { width: 2 * swDoc.width, height: 2 * swDoc.height });

    // Two sentences with the same token count: the difference map, as shown.
    const [A, B] = ['the cat sat on [MASK] mat.', 'the dog sat on [MASK] mat.'];
    await page.getByTestId('compare-toggle').click();
    await page.getByTestId('compare-a').fill(A);
    await page.getByTestId('compare-b').fill(B);
    await page.waitForSelector('[data-testid="diff-heatmap"] [data-testid="diff-cell"]');
    await page.getByTestId('diff-layer').selectOption('1');
    await page.getByTestId('diff-head').selectOption('2');
    await page.waitForSelector('[data-testid="diff-heatmap"][data-layer="1"][data-head="2"]');
    const values = await page.$$eval('[data-testid="diff-cell"]', (cells) => cells.map((c) => Number(c.dataset.value)));
    const diff = await download(page, 'compare', 'export-svg', { keyboard: true });
    assert.equal(diff.name, 'albert-lens-diff-2-2.svg');
    const diffText = diff.bytes.toString('utf8');
    const diffDoc = await parseSvg(page, diffText);
    assert.equal(diffDoc.error, null, 'the difference SVG parses');
    assert.equal(diffDoc.title, `${model} · “A: ${A} | B: ${B}” · layer 2 · block 0 · head 2 · attention A − B`);
    // Background, 5 legend swatches, then one cell per value of the page's map.
    const rects = [...diffText.matchAll(/<rect [^>]*fill="(#[0-9a-f]{6})"/g)].map((m) => m[1]);
    assert.equal(rects.length, 1 + 5 + values.length, `${values.length} cells`);
    const scale = Math.max(...values.map(Math.abs));
    const at = values.findIndex((v) => Math.abs(v) === scale);
    assert.equal(rects[6 + at], values[at] < 0 ? '#2166ac' : '#d66027', 'the largest |A − B| has the full colour of its sign');
    // The sentence-order card (the fixture has an SOP head).
    await page.waitForSelector('[data-testid="order"][data-state="done"]');
    const [oa, ob] = [await page.getByTestId('order-a').inputValue(), await page.getByTestId('order-b').inputValue()];
    const ord = await download(page, 'order', 'export-svg');
    assert.equal(ord.name, 'albert-lens-order.svg');
    const ordDoc = await parseSvg(page, ord.bytes.toString('utf8'));
    assert.equal(ordDoc.error, null);
    assert.equal(ordDoc.title, `${model} · “A: ${oa} | B: ${ob}” · sentence-order (SOP) head · P(original order)`);
    const pct = (p) => `${(100 * p).toFixed(1)}%`;
    const inOrder = Number(await page.getByTestId('order').getAttribute('data-in-order-prob'));
    if (inOrder >= 0.1) assert.ok(ord.bytes.toString('utf8').includes(`>${pct(inOrder)}</text>`), `the figure shows P = ${pct(inOrder)}`);
    const diffPng = await download(page, 'compare', 'export-png');
    assert.equal(diffPng.name, 'albert-lens-diff-2-2.png');
    assert.deepEqual(pngSize(diffPng.bytes), { width: 2 * diffDoc.width, height: 2 * diffDoc.height });
    assert.deepEqual(problems, []);
  });

  test('attentions download as JSON in the CLI schema with the CLI numbers', async (t) => {
    const { page, problems } = await open(t);
    const cli = cliJson(['fill', '--model', PRE, '--text', TEXT, '--attentions', '--top-k', '5']);
    // Every attention view offers the same file.
    const files = [];
    for (const scope of ['heatmap', 'head-view', 'model-view', 'rollout']) files.push(await download(page, scope, 'export-json'));
    for (const f of files) {
      assert.equal(f.name, 'albert-lens-attentions.json');
      assert.deepEqual(f.bytes, files[0].bytes, 'one forward, one file');
    }
    const got = JSON.parse(files[0].bytes.toString('utf8'));
    assert.deepEqual(Object.keys(got).sort(), Object.keys(cli).sort(), 'the same keys as albert fill --json --attentions');
    assert.deepEqual(Object.keys(got.model).sort(), Object.keys(cli.model).sort());
    assert.equal(got.model.source, s.modelUrl('pretraining'));
    for (const k of ['architecture', 'dtype', 'parameters', 'config']) assert.deepEqual(got.model[k], cli.model[k], `model.${k}`);
    assert.match(got.device, /^webgpu/);
    for (const k of ['ids', 'tokens', 'token_type_ids', 'attention_groups']) assert.deepEqual(got[k], cli[k], k);
    assertSameTopK(got.masks, cliJson(['fill', '--model', PRE, '--text', TEXT, '--top-k', '8']), TOL);
    assert.deepEqual(got.masks.map((m) => Object.keys(m).sort()), cli.masks.map((m) => Object.keys(m).sort()));
    const T = cli.tokens.length;
    assert.equal(got.attentions.length, cli.attentions.length, 'one map per layer application');
    let worst = 0;
    got.attentions.forEach((map, l) => {
      assert.equal(map.length, cli.attentions[l].length, `layer ${l}: heads`);
      map.forEach((head, h) => {
        assert.equal(head.length, T);
        head.forEach((row, q) => {
          assert.equal(row.length, T);
          row.forEach((v, k) => (worst = Math.max(worst, Math.abs(v - cli.attentions[l][h][q][k]))));
        });
      });
    });
    assert.ok(worst <= TOL, `largest |page − CLI| attention ${worst}`);
    assert.deepEqual(problems, []);
  });

  test('predictions download as JSON (the CLI schema) and CSV (a row per prediction)', async (t) => {
    const { page, problems } = await open(t);
    const shown = await readPredictions(page);
    const cli = cliJson(['fill', '--model', PRE, '--text', TEXT, '--top-k', '8']);

    const json = await download(page, 'fill', 'export-json');
    assert.equal(json.name, 'albert-lens-predictions.json');
    const got = JSON.parse(json.bytes.toString('utf8'));
    assert.deepEqual(Object.keys(got).sort(), Object.keys(cli).sort(), 'the same keys as albert fill --json');
    // What the page shows (its data-prob is the f32's shortest text; the JSON has the f32 as f64).
    const f32 = (masks) => masks.map((m) => ({ ...m, top_k: m.top_k.map((p) => ({ ...p, prob: Math.fround(p.prob) })) }));
    assert.deepEqual(f32(got.masks), f32(shown), 'what the page shows');
    assertSameTopK(got.masks, cli, TOL);
    for (const k of ['ids', 'tokens', 'token_type_ids']) assert.deepEqual(got[k], cli[k], k);

    // By keyboard.
    const csv = await download(page, 'fill', 'export-csv', { keyboard: true });
    assert.equal(csv.name, 'albert-lens-predictions.csv');
    const rows = parseCsv(csv.bytes.toString('utf8'));
    assert.deepEqual(rows[0], ['mask', 'position', 'rank', 'token', 'display', 'id', 'prob']);
    const want = shown.flatMap((m, i) => m.top_k.map((p, r) => [String(i + 1), String(m.position), String(r + 1), p.token, String(p.id), p.prob]));
    assert.equal(rows.length - 1, want.length, 'one row per prediction');
    rows.slice(1).forEach((row, i) => {
      assert.equal(row.length, 7, `row ${i + 1}: ${JSON.stringify(row)}`);
      const [mask, position, rank, token, , id, prob] = row;
      // A token a spreadsheet would run as a formula carries a leading ' (csv_field).
      const unquoted = /^'[=+\-@\t\r]./.test(token) ? token.slice(1) : token;
      assert.deepEqual([mask, position, rank, unquoted, id], want[i].slice(0, 5));
      assert.equal(Number(prob), want[i][5]);
    });
    assert.deepEqual(problems, []);
  });
});

/** Keeps a downloaded picture with this run's screenshots (and in docs/ with UPDATE_SCREENSHOTS=1). */
function keepPicture(bytes, name) {
  mkdirSync(runShots, { recursive: true });
  writeFileSync(join(runShots, name), bytes);
  if (updateDocsShots) {
    mkdirSync(docsShots, { recursive: true });
    copyFileSync(join(runShots, name), join(docsShots, name));
  }
}

describe('exports on the CPU backend (and the README picture)', () => {
  test('the showcase model: attentions JSON equals the CLI with device cpu; the heatmap PNG', async (t) => {
    const show = showcaseModel(s);
    const text = 'The capital of France is [MASK].';
    const { page, problems } = await launch(t, { webgpu: false });
    await page.goto(appUrl(s.app, { ...show.params, text, k: '5', backend: 'cpu' }));
    const status = await readyStatus(page);
    assert.equal(status.backend, 'cpu');
    await waitPredictions(page, 1);
    await page.waitForSelector('[data-testid="heatmap"] [data-testid="export-png"]:not([disabled])');
    const got = JSON.parse((await download(page, 'heatmap', 'export-json')).bytes.toString('utf8'));
    const cli = cliJson(['fill', '--model', show.dir, '--text', text, '--attentions', '--top-k', '5']);
    assert.equal(got.device, 'cpu');
    assert.deepEqual(Object.keys(got).sort(), Object.keys(cli).sort());
    for (const k of ['ids', 'tokens', 'token_type_ids', 'attention_groups']) assert.deepEqual(got[k], cli[k], k);
    const worst = got.attentions.flat(3).reduce((m, v, i) => Math.max(m, Math.abs(v - cli.attentions.flat(3)[i])), 0);
    assert.equal(got.attentions.flat(3).length, cli.attentions.flat(3).length);
    assert.ok(worst <= TOL, `largest |page − CLI| attention ${worst}`);

    await page.getByTestId('heatmap-layer').selectOption(String(got.attentions.length - 1));
    const png = await download(page, 'heatmap', 'export-png');
    pngSize(png.bytes);
    keepPicture(png.bytes, 'export-heatmap.png');
    assert.deepEqual(problems, []);
  });
});
