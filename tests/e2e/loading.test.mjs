// Browser tests of model loading: the embedded default, `?model=` over HTTP (plain, f16,
// sharded), local files, progress bars, the browser cache (no weights fetched twice, verified,
// deletable), offline reload through the service worker, and bad URLs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startServer } from '../../scripts/static-server.mjs';
import {
  appUrl,
  assertSameTopK,
  cliFill,
  dist,
  enterSentence,
  fixtures,
  fixtureSize,
  hasDefaultModel,
  launch,
  readyStatus,
  root,
  settledStatus,
  showcaseModel,
  startServers,
  waitPredictions,
  waitText,
} from './helpers.mjs';

const SENTENCE = 'The capital of France is [MASK].';
let s;

before(async () => {
  s = await startServers();
});
after(async () => {
  await s?.close();
});

const weightRequests = (log, model) => log.filter((p) => p.startsWith(`/${model}/`) && p.endsWith('.safetensors'));
const modelRequests = (log, model) => log.filter((p) => p.startsWith(`/${model}/`));

describe('model sources', () => {
  test('the embedded default model, or a plain message when the build has none', async (t) => {
    const { page } = await launch(t);
    await page.goto(s.app.url);
    const status = await settledStatus(page);
    if (hasDefaultModel) {
      assert.equal(status.state, 'ready', JSON.stringify(status));
      assert.match(await page.getByTestId('model-name').innerText(), /^Embedded default model/);
      const preds = await waitPredictions(page, 1);
      assertSameTopK(preds, cliFill(join(root, 'assets/model'), SENTENCE, 8), 1e-3);
    } else {
      t.diagnostic('this build has no embedded model (assets/model was missing)');
      assert.equal(status.state, 'error');
      assert.match(status.text, /no embedded default model/);
      // Still usable: a model loads from the form.
      await page.getByTestId('model-url').fill(s.modelUrl('tiny'));
      await page.getByTestId('load-model').click();
      await readyStatus(page);
      await waitPredictions(page, 1);
    }
  });

  for (const [name, note] of [
    ['f16', 'f16 weights stay f16 on the GPU'],
    ['sharded', 'four shards and model.safetensors.index.json'],
    ['groups', 'two shared groups with two inner layers'],
    ['spiece_only', 'tokenizer from spiece.model'],
  ]) {
    test(`?model= loads the ${name} fixture (${note}) with the CLI's predictions`, async (t) => {
      const { page, problems } = await launch(t);
      await page.goto(appUrl(s.app, { model: s.modelUrl(name) }));
      await readyStatus(page);
      const preds = await waitPredictions(page, 1);
      assertSameTopK(preds, cliFill(join(fixtures, name), SENTENCE, 8), name === 'f16' ? 1e-3 : 2e-4);
      if (name === 'f16') assert.equal(await page.getByTestId('f16').getAttribute('data-f16'), 'true');
      if (name === 'sharded') {
        const shards = readdirSync(join(fixtures, 'sharded')).filter((f) => /^model-.*\.safetensors$/.test(f));
        const rows = await page.$$eval('[data-testid="progress"]', (els) => els.map((e) => e.dataset.file));
        for (const f of shards) assert.ok(rows.includes(f), `progress rows ${rows} lack ${f}`);
      }
      // spiece_only has no tokenizer.json: its 404 is expected.
      assert.deepEqual(problems.filter((p) => !(name === 'spiece_only' && /404.*tokenizer\.json/.test(p))), []);
    });
  }

  test('local files through the file picker', async (t) => {
    const { page } = await launch(t);
    await page.goto(appUrl(s.app, { model: s.modelUrl('tiny') }));
    await readyStatus(page);
    const dir = join(fixtures, 'groups');
    await page
      .getByTestId('file-input')
      .setInputFiles(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'].map((f) => join(dir, f)));
    await waitText(page, 'model-name', /^Local files:/);
    await readyStatus(page);
    assertSameTopK(await waitPredictions(page, 1), cliFill(dir, SENTENCE, 8));
    const states = await page.$$eval('[data-testid="progress"]', (els) => els.map((e) => e.dataset.state));
    assert.ok(states.length >= 3 && states.every((x) => x === 'local'), `states ${states}`);
  });

  test('local files dropped on the drop zone', async (t) => {
    const { page } = await launch(t);
    await page.goto(appUrl(s.app, { model: s.modelUrl('tiny') }));
    await readyStatus(page);
    // A real drop of File objects (the f16 fixture's files, fetched inside the page).
    await page.evaluate(async (base) => {
      const dt = new DataTransfer();
      for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) {
        const bytes = await (await fetch(base + f)).arrayBuffer();
        dt.items.add(new File([bytes], f));
      }
      const zone = document.querySelector('[data-testid="drop-zone"]');
      zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
      zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, s.modelUrl('f16'));
    await waitText(page, 'model-name', /^Local files:/);
    await readyStatus(page);
    assertSameTopK(await waitPredictions(page, 1), cliFill(join(fixtures, 'f16'), SENTENCE, 8), 1e-3);
    assert.equal(await page.getByTestId('f16').getAttribute('data-f16'), 'true');
  });

  test('a bad model URL shows an error and the app stays usable', async (t) => {
    const { page } = await launch(t);
    await page.goto(appUrl(s.app, { model: s.modelUrl('no-such-model') }));
    const status = await settledStatus(page);
    assert.equal(status.state, 'error');
    assert.match(status.text, /config\.json not found/);
    const error = page.getByTestId('load-error');
    assert.ok(await error.isVisible());
    // A host that refuses connections.
    await page.getByTestId('model-url').fill('http://127.0.0.1:9/model/');
    await page.getByTestId('load-model').click();
    await waitText(page, 'load-error', /could not fetch/);
    // The page still works: the sentence box edits, and a good model loads.
    await page.getByTestId('sentence').fill('Still [MASK] here.');
    await page.getByTestId('model-url').fill(s.modelUrl('tiny'));
    await page.getByTestId('load-model').click();
    await readyStatus(page);
    assertSameTopK(await waitPredictions(page, 1), cliFill(join(fixtures, 'tiny'), 'Still [MASK] here.', 8));
    assert.ok(await error.isHidden());
  });
});

describe('downloads and the browser cache', () => {
  test('progress bars show bytes and totals while a slow download runs', async (t) => {
    const slow = await startServer({ root: fixtures, port: 0, cors: true, chunkDelayMs: 60 });
    t.after(() => slow.close());
    const { page } = await launch(t, {
      initScript: () => {
        // Record every progress value the page shows for model.safetensors.
        window.__progress = [];
        new MutationObserver(() => {
          const el = document.querySelector('[data-testid="progress"][data-file="model.safetensors"]');
          if (el) window.__progress.push([Number(el.dataset.loaded), Number(el.dataset.total || 0), el.dataset.state]);
        }).observe(document, { subtree: true, childList: true, attributes: true });
      },
    });
    await page.goto(appUrl(s.app, { model: `${slow.url}tiny/` }));
    await page.waitForSelector('[data-testid="progress"][data-file="model.safetensors"][data-state="downloading"] progress[max]', { timeout: 30_000 });
    await readyStatus(page);
    const seen = await page.evaluate(() => window.__progress);
    const size = fixtureSize('tiny', 'model.safetensors');
    const partial = seen.filter(([loaded, total, state]) => state === 'downloading' && loaded > 0 && loaded < size && total === size);
    assert.ok(partial.length >= 3, `partial progress seen: ${JSON.stringify(seen.slice(0, 40))}`);
    const last = await page.locator('[data-testid="progress"][data-file="model.safetensors"]');
    assert.equal(await last.getAttribute('data-state'), 'downloaded');
    assert.equal(Number(await last.getAttribute('data-loaded')), size);
    assert.match(await last.innerText(), /110 kB downloaded/);
  });

  test('a second load fetches no model files; the storage panel lists and deletes the model', async (t) => {
    const { page } = await launch(t);
    const url = appUrl(s.app, { model: s.modelUrl('tiny') });
    s.modelLog.length = 0;
    await page.goto(url);
    await readyStatus(page);
    await waitPredictions(page, 1);
    assert.equal(weightRequests(s.modelLog, 'tiny').length, 1, s.modelLog.join(' '));
    // The record is written once the model loaded; the storage panel shows it.
    const row = page.locator(`[data-testid="cached-model"][data-base="${s.modelUrl('tiny')}"]`);
    await row.waitFor();
    const expected = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']
      .map((f) => fixtureSize('tiny', f))
      .reduce((a, b) => a + b, 0);
    assert.equal(Number(await row.getAttribute('data-bytes')), expected);

    s.modelLog.length = 0;
    await page.reload();
    await readyStatus(page);
    const preds = await waitPredictions(page, 1);
    assertSameTopK(preds, cliFill(join(fixtures, 'tiny'), SENTENCE, 8));
    assert.deepEqual(modelRequests(s.modelLog, 'tiny'), [], 'the second load asked the model server for files');
    const states = await page.$$eval('[data-testid="progress"]', (els) => els.map((e) => e.dataset.state));
    assert.ok(states.length >= 3 && states.every((x) => x === 'cached'), `states ${states}`);
    assert.match(await page.getByTestId('download-size').innerText(), /browser cache/);

    // Delete: the list empties and the next load downloads again.
    await row.getByTestId('delete-cached').click();
    await row.waitFor({ state: 'detached' }).catch(async (e) => {
      // Once (suite run of session 27, beside a training run) the row stayed for 30 s; this never
      // happened alone. Say which side failed next time: the cache (the click deleted nothing)
      // or the list (the files are gone but the list was not re-read).
      const keys = await page.evaluate(async () => (await (await caches.open('albert-lens-models-v1')).keys()).map((r) => r.url));
      const status = await page.getByTestId('status').innerText().catch((x) => `? (${x.message})`);
      throw new Error(`${e.message}\nthe model cache holds ${JSON.stringify(keys)}; status: ${status}`);
    });
    s.modelLog.length = 0;
    await page.reload();
    await readyStatus(page);
    assert.equal(weightRequests(s.modelLog, 'tiny').length, 1, 'weights downloaded again after delete');
  });

  test('a re-read of the storage list that finishes after a delete does not bring the model back', async (t) => {
    // A failed load re-reads the list (R0); the Cache API answers R0's read of the record only
    // after the user's delete has run and its own re-read (R1) has emptied the list. R0 read the
    // cache before the delete, so its list still holds the model: the newest re-read must win.
    const { page } = await launch(t);
    const base = s.modelUrl('tiny');
    await page.goto(appUrl(s.app, { model: base }));
    await readyStatus(page);
    const row = page.locator(`[data-testid="cached-model"][data-base="${base}"]`);
    await row.waitFor();
    await page.evaluate((url) => {
      const match = Cache.prototype.match;
      window.__held = 'armed';
      Cache.prototype.match = function (req, ...rest) {
        const answer = match.call(this, req, ...rest);
        if ((typeof req === 'string' ? req : req.url) !== url || window.__held !== 'armed') return answer;
        window.__held = 'holding';
        return answer.then((r) => new Promise((ok) => setTimeout(() => ok(r), 3000))).finally(() => (window.__held = 'released'));
      };
    }, `${base}.albert-lens-record.json`);
    await page.getByTestId('model-url').fill(s.modelUrl('no-such-model'));
    await page.getByTestId('load-model').click();
    await waitText(page, 'load-error', /config\.json not found/);
    await page.waitForFunction(() => window.__held === 'holding');
    await row.getByTestId('delete-cached').click();
    await row.waitFor({ state: 'detached' });
    await page.waitForFunction(() => window.__held === 'released');
    await page.waitForTimeout(500); // R0's list, if it were kept, is on the page by now
    assert.equal(await row.count(), 0, 'the deleted model is listed again');
    assert.equal(await page.getByTestId('cached-model').count(), 0);
  });

  test('a corrupted cache entry is detected by its SHA-256 and downloaded again', async (t) => {
    const { page } = await launch(t);
    const base = s.modelUrl('tiny');
    await page.goto(appUrl(s.app, { model: base }));
    await readyStatus(page);
    await page.locator(`[data-testid="cached-model"][data-base="${base}"]`).waitFor();
    // Same size, one byte flipped.
    await page.evaluate(async (u) => {
      const cache = await caches.open('albert-lens-models-v1');
      const bytes = new Uint8Array(await (await cache.match(u)).arrayBuffer());
      bytes[bytes.length - 1] ^= 0xff;
      await cache.put(u, new Response(bytes));
    }, `${base}model.safetensors`);
    s.modelLog.length = 0;
    await page.reload();
    await readyStatus(page);
    assertSameTopK(await waitPredictions(page, 1), cliFill(join(fixtures, 'tiny'), SENTENCE, 8));
    assert.deepEqual(weightRequests(s.modelLog, 'tiny'), ['/tiny/model.safetensors']);
    assert.equal(await page.locator('[data-testid="progress"][data-file="model.safetensors"]').getAttribute('data-state'), 'downloaded');
  });

  test('offline reload: the service worker serves the app and the cache the model', async (t) => {
    // Own servers, so they can be shut down.
    const app = await startServer({ root: dist, port: 0 });
    const models = await startServer({ root: fixtures, port: 0, cors: true });
    t.after(async () => {
      await app.close();
      await models.close();
    });
    const { page } = await launch(t);
    const show = showcaseModel({ modelUrl: (n) => `${models.url}${n}/` });
    await page.goto(appUrl(app, show.params));
    await readyStatus(page);
    await waitPredictions(page, 1);
    await page.locator('[data-testid="cached-model"]').first().waitFor();
    await page.evaluate(async () => {
      await navigator.serviceWorker.ready;
      if (!navigator.serviceWorker.controller) {
        await new Promise((r) => navigator.serviceWorker.addEventListener('controllerchange', r, { once: true }));
      }
    });
    await app.close();
    await models.close();
    await page.reload();
    await readyStatus(page);
    const preds = await waitPredictions(page, 1);
    assertSameTopK(preds, cliFill(show.dir, SENTENCE, 8), 1e-3);
  });
});
