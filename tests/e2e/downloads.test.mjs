// Browser tests of downloads as networks and hosts really behave (issue #13, items 6 and 7, and
// item 1's byte cap and cross-origin question), against the loopback Hub (hub-server.mjs: 302 to
// a CDN origin, CORS, Range, ETag, 401/404 with X-Error-Code, and faults: cut, stall, ignored
// Range, a huge Content-Length):
// - a model link from another origin asks first (host and size), and nothing downloads before;
// - albert-base-v2's layout loads from the Hub with tokenizer.json or with only spiece.model;
//   gated, unknown and empty repos are said plainly;
// - a stall is an error naming the file and URL, with Retry, which resumes with Range;
// - a broken connection resumes by itself (206 appended; a 200 starts again);
// - Cancel stops a download and the running model keeps answering;
// - a full storage quota is a clear notice and the model runs from memory;
// - a Content-Length past the 2 GiB cap, or a picked file that big, is refused without a panic.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startHub } from './hub-server.mjs';
import {
  appUrl,
  assertSameTopK,
  cliFill,
  fixtures,
  generated,
  hasDefaultModel,
  launch,
  readyStatus,
  settledStatus,
  startServers,
  waitPredictions,
  waitText,
} from './helpers.mjs';

const SENTENCE = 'The capital of France is [MASK].';
const BASE = 'albert/albert-base-v2';
const SPIECE = 'someone/albert-spiece-only';
const EMPTY = 'someone/empty';
const GATED = 'albert/albert-xlarge-v2';
let s;
let hub;

/**
 * albert-base-v2's files on the Hub with tiny weights: config.json, model.safetensors,
 * tokenizer.json and spiece.model, pytorch_model.bin and README.md (never read); no
 * tokenizer_config.json and no sharded index (404 EntryNotFound, as on the real repo).
 * `spieceOnly`: the same without tokenizer.json (the spiece_only fixture's weights).
 */
function baseV2Layout(spieceOnly) {
  const src = join(fixtures, spieceOnly ? 'spiece_only' : 'tiny');
  const dir = join(generated, spieceOnly ? 'hub-spiece-only' : 'hub-base-v2');
  mkdirSync(dir, { recursive: true });
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'spiece.model']) {
    if (existsSync(join(src, f))) copyFileSync(join(src, f), join(dir, f));
  }
  writeFileSync(join(dir, 'pytorch_model.bin'), Buffer.alloc(4096));
  writeFileSync(join(dir, 'README.md'), '# ALBERT Base v2 (tiny stand-in)\n');
  return dir;
}

const baseDir = baseV2Layout(false);
const spieceDir = baseV2Layout(true);
const weightsSize = statSync(join(baseDir, 'model.safetensors')).size;

before(async () => {
  s = await startServers();
  const emptyDir = join(generated, 'hub-empty');
  mkdirSync(emptyDir, { recursive: true });
  writeFileSync(join(emptyDir, 'README.md'), 'nothing here\n');
  hub = await startHub({ repos: { [BASE]: baseDir, [SPIECE]: spieceDir, [EMPTY]: emptyDir }, gated: [GATED] });
});
after(async () => {
  await s?.close();
  await hub?.close();
});

/** `?hub=` + `?model=<owner/name>` (+ more): the page's link to a Hub model. */
const hubLink = (id, more = {}) => appUrl(s.app, { hub: hub.url, model: id, ...more });
/** The CDN's answers for the weights: [range asked, status]. */
const weightsAnswers = () => hub.log.filter((r) => r.origin === 'cdn' && r.method === 'GET' && r.file === 'model.safetensors').map((r) => [r.range, r.status]);
const resolveGets = () => hub.log.filter((r) => r.origin === 'hub' && r.method === 'GET' && r.path.includes('/resolve/'));
const progressRow = (page, file) => page.locator(`[data-testid="progress"][data-file="${file}"]`);

describe('a model link from another origin', () => {
  test('asks first with host and size; nothing is downloaded before the click', async (t) => {
    const { page } = await launch(t, { confirmDownloads: false });
    hub.log.length = 0;
    await page.goto(hubLink(BASE));
    const ask = page.getByTestId('download-confirm');
    await ask.waitFor({ timeout: 30_000 });
    const host = new URL(hub.url).host;
    assert.equal(await ask.getAttribute('data-host'), host);
    assert.match(await ask.innerText(), new RegExp(`download a model from ${host.replace('.', '\\.')}`));
    // The size comes from a HEAD request (followed to the CDN); no file body was fetched.
    await page.waitForFunction((n) => document.querySelector('[data-testid="download-confirm"]')?.dataset.bytes === String(n), weightsSize);
    assert.match(await ask.innerText(), /110 kB of weights/);
    assert.equal(await page.getByTestId('status').getAttribute('data-state'), 'loading');
    assert.match(await page.getByTestId('status').innerText(), /Waiting for your OK/);
    assert.deepEqual(weightsAnswers(), [], JSON.stringify(hub.log));
    assert.ok(resolveGets().every((r) => r.path.endsWith('model.safetensors.index.json')), JSON.stringify(resolveGets()));

    await page.getByTestId('download-confirm-yes').click();
    await waitText(page, 'model-name', BASE, 60_000);
    await readyStatus(page);
    assertSameTopK(await waitPredictions(page, 1), cliFill(baseDir, SENTENCE, 8));
    assert.equal(await ask.count(), 0);
    // Cached now: the same link loads without asking.
    const again = await page.context().newPage();
    await again.goto(hubLink(BASE));
    await waitText(again, 'model-name', BASE, 60_000);
    await readyStatus(again);
    assert.equal(await again.getByTestId('download-confirm').count(), 0);
  });

  test('a host that does not answer: the question says the size is unknown', async (t) => {
    const { page } = await launch(t, { confirmDownloads: false });
    await page.goto(appUrl(s.app, { model: 'http://127.0.0.1:9/some/model/' }));
    const ask = page.getByTestId('download-confirm');
    await ask.waitFor({ timeout: 30_000 });
    assert.equal(await ask.getAttribute('data-host'), '127.0.0.1:9');
    await waitText(page, 'download-confirm', /size unknown: the server did not say/, 30_000);
    assert.equal(await ask.getAttribute('data-bytes'), null);
  });

  test('"no" runs the embedded model and drops ?model=; a typed URL does not ask', { skip: !hasDefaultModel && 'SKIPPED: this build has no embedded default model' }, async (t) => {
    const { page } = await launch(t, { confirmDownloads: false });
    hub.log.length = 0;
    await page.goto(appUrl(s.app, { model: s.modelUrl('f16') }));
    await page.getByTestId('download-confirm-no').click();
    await readyStatus(page);
    assert.match(await page.getByTestId('model-name').innerText(), /^Embedded default model/);
    assert.doesNotMatch(page.url(), /model=/);
    // Typing the address is the user's own choice: no question.
    await page.getByTestId('model-url').fill(s.modelUrl('tiny'));
    await page.getByTestId('load-model').click();
    await waitText(page, 'model-name', /tiny/, 60_000);
    await readyStatus(page);
    assert.equal(await page.getByTestId('download-confirm').count(), 0);
    // The page's own origin does not ask either.
    const same = await page.context().newPage();
    await same.goto(appUrl(s.app, { model: 'model/' }));
    await readyStatus(same);
    assert.equal(await same.getByTestId('download-confirm').count(), 0);
  });
});

describe('the Hub as browsers meet it', () => {
  test("albert-base-v2's layout: tokenizer.json, the 302 to the CDN, ETags kept", async (t) => {
    const { page } = await launch(t);
    hub.log.length = 0;
    await page.goto(hubLink(BASE, { text: SENTENCE }));
    await readyStatus(page);
    assert.match(await page.getByTestId('model-name').innerText(), /albert\/albert-base-v2/);
    assertSameTopK(await waitPredictions(page, 1), cliFill(baseDir, SENTENCE, 8));
    assert.ok(hub.log.some((r) => r.origin === 'hub' && r.path === `/${BASE}/resolve/main/tokenizer_config.json`), 'the absent file was asked (404)');
    assert.deepEqual(weightsAnswers(), [[null, 200]]);
    // The small files' ETags (200 from the hub origin) are kept in the cache record.
    const record = await page.evaluate(async (key) => {
      const c = await caches.open('albert-lens-models-v1');
      return (await c.match(key))?.json();
    }, `${hub.url}/${BASE}/resolve/main/.albert-lens-record.json`);
    const config = record.files.find((f) => f.name === 'config.json');
    const sha1 = createHash('sha1').update(readFileSync(join(baseDir, 'config.json'))).digest('hex');
    assert.equal(config.etag, `"${sha1}"`);
  });

  test('only spiece.model (no tokenizer.json): the same predictions as the CLI', async (t) => {
    const { page } = await launch(t);
    hub.log.length = 0;
    await page.goto(hubLink(SPIECE, { text: SENTENCE }));
    await readyStatus(page);
    assertSameTopK(await waitPredictions(page, 1), cliFill(spieceDir, SENTENCE, 8));
    assert.ok(hub.log.some((r) => r.origin === 'cdn' && r.file === 'spiece.model' && r.status === 200), JSON.stringify(hub.log));
  });

  for (const [id, words] of [
    [GATED, /albert\/albert-xlarge-v2 is gated on the Hub.*sends no credentials.*HTTP 401/],
    ['nobody/nothing', /nobody\/nothing does not exist on the Hub \(or is private\).*HTTP 401/],
    [EMPTY, /config\.json not found.*resolve\/main\/config\.json answered 404/],
  ]) {
    test(`${id}: the Hub's answer in words`, async (t) => {
      const { page } = await launch(t);
      await page.goto(hubLink(id));
      const status = await settledStatus(page);
      assert.equal(status.state, 'error');
      assert.match(await page.getByTestId('load-error').innerText(), words);
      assert.equal(await page.getByTestId('retry-load').count(), 0, 'no retry for a refusal');
    });
  }
});

describe('downloads that go wrong', () => {
  test('a stall is an error naming the file and URL; Retry resumes with a Range request', async (t) => {
    const { page } = await launch(t);
    hub.log.length = 0;
    hub.fault('model.safetensors', [{ stall: 40_000 }]);
    await page.goto(hubLink(BASE, { stall_ms: 1500, text: SENTENCE }));
    const error = page.getByTestId('load-error');
    await waitText(page, 'load-error', /stalled/, 60_000);
    const text = await error.innerText();
    assert.ok(text.includes(`download of model.safetensors from ${hub.url}/${BASE}/resolve/main/model.safetensors stalled`), text);
    assert.match(text, new RegExp(`no data for 1\\.5 s \\(40000 of ${weightsSize} bytes received\\)`));
    assert.equal(await progressRow(page, 'model.safetensors').getAttribute('data-state'), 'failed');
    assert.equal(await progressRow(page, 'model.safetensors').getAttribute('data-loaded'), '40000');

    await page.getByTestId('retry-load').click();
    await readyStatus(page);
    assertSameTopK(await waitPredictions(page, 1), cliFill(baseDir, SENTENCE, 8));
    assert.deepEqual(weightsAnswers(), [[null, 200], ['bytes=40000-', 206]]);
    assert.equal(await error.isHidden(), true);
  });

  test('a broken connection resumes by itself; a server that ignores Range sends it all again', async (t) => {
    const { page } = await launch(t);
    hub.log.length = 0;
    hub.fault('model.safetensors', [{ cut: 50_000 }]);
    await page.goto(hubLink(BASE, { text: SENTENCE }));
    await readyStatus(page);
    assertSameTopK(await waitPredictions(page, 1), cliFill(baseDir, SENTENCE, 8));
    assert.deepEqual(weightsAnswers(), [[null, 200], ['bytes=50000-', 206]]);

    // Again, from scratch (cache emptied), with a server that answers the Range with 200.
    await page.evaluate(() => caches.delete('albert-lens-models-v1'));
    hub.log.length = 0;
    hub.fault('model.safetensors', [{ cut: 50_000 }, { ignoreRange: true }]);
    await page.reload();
    await readyStatus(page);
    assertSameTopK(await waitPredictions(page, 1), cliFill(baseDir, SENTENCE, 8));
    assert.deepEqual(weightsAnswers(), [[null, 200], ['bytes=50000-', 200]]);
  });

  test('Cancel stops the download, the running model keeps answering, Retry resumes', async (t) => {
    const { page } = await launch(t);
    await page.goto(appUrl(s.app, { model: s.modelUrl('groups'), text: SENTENCE }));
    await readyStatus(page);
    const first = await waitPredictions(page, 1);
    const firstName = await page.getByTestId('model-name').innerText();
    hub.log.length = 0;
    hub.fault('model.safetensors', [{ stall: 30_000 }]);
    // Typed, so no question; the default stall limit (30 s) is far away.
    await page.getByTestId('model-url').fill(`${hub.url}/${BASE}/resolve/main/`);
    await page.getByTestId('load-model').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="progress"][data-file="model.safetensors"]')?.dataset.loaded === '30000', null, { timeout: 30_000 });
    await page.getByTestId('cancel-load').click();
    await waitText(page, 'status', /Download cancelled/);
    const status = await settledStatus(page);
    assert.equal(status.state, 'ready');
    assert.equal(await page.getByTestId('model-name').innerText(), firstName);
    assert.equal(await page.getByTestId('cancel-load').count(), 0);
    // Still answering with the first model.
    assert.deepEqual(await waitPredictions(page, 1), first);
    await page.getByTestId('sentence').fill('She went to the [MASK].');
    assertSameTopK(await waitPredictions(page, 1), cliFill(join(fixtures, 'groups'), 'She went to the [MASK].', 8));

    await page.getByTestId('retry-load').click();
    await waitText(page, 'model-name', BASE, 60_000);
    await readyStatus(page);
    assert.deepEqual(weightsAnswers(), [[null, 200], ['bytes=30000-', 206]]);
  });

  test('a full storage quota: a clear notice, and the model runs from memory', async (t) => {
    const { page } = await launch(t, {
      // The browser's answer when an origin's quota is used up.
      initScript: () => {
        const put = Cache.prototype.put;
        Cache.prototype.put = function (request, response) {
          const url = typeof request === 'string' ? request : request.url;
          if (url.endsWith('.safetensors')) return Promise.reject(new DOMException('The quota has been exceeded.', 'QuotaExceededError'));
          return put.call(this, request, response);
        };
      },
    });
    s.modelLog.length = 0;
    await page.goto(appUrl(s.app, { model: s.modelUrl('tiny'), text: SENTENCE }));
    await readyStatus(page);
    assertSameTopK(await waitPredictions(page, 1), cliFill(join(fixtures, 'tiny'), SENTENCE, 8));
    const notice = page.getByTestId('load-notice');
    await notice.waitFor();
    assert.match(await notice.innerText(), /storage is full \(quota exceeded\).*runs from memory now and downloads again next time/);
    // Nothing half-stored: no record, and the next visit downloads again.
    assert.equal(await page.locator(`[data-testid="cached-model"][data-base="${s.modelUrl('tiny')}"]`).count(), 0);
    const keys = await page.evaluate(async () => (await (await caches.open('albert-lens-models-v1')).keys()).map((r) => r.url));
    assert.deepEqual(keys.filter((k) => k.includes('/tiny/')), []);
  });

  test('a Content-Length past the 2 GiB cap is refused, without a panic', async (t) => {
    const { page, problems } = await launch(t);
    hub.fault('model.safetensors', [{ announce: 3 * 2 ** 30 }]);
    await page.goto(hubLink(BASE));
    const status = await settledStatus(page);
    assert.equal(status.state, 'error', `${JSON.stringify(status)} ${JSON.stringify(hub.log)}`);
    assert.match(
      await page.getByTestId('load-error').innerText(),
      /model\.safetensors at .* is 3\.22 GB \(3221225472 bytes\), over the 2147483647-byte limit for one model file/,
    );
    assert.deepEqual(problems.filter((p) => /pageerror|panicked|unreachable/i.test(p)), []);
  });

  test('the file picker refuses a file over the cap before reading it', async (t) => {
    const { page, problems } = await launch(t, {
      // A 3 GiB model.safetensors, as the page sees it (File.size), without writing 3 GiB.
      initScript: () => {
        const size = Object.getOwnPropertyDescriptor(Blob.prototype, 'size').get;
        Object.defineProperty(Blob.prototype, 'size', {
          get() {
            return this instanceof File && this.name === 'model.safetensors' ? 3 * 2 ** 30 : size.call(this);
          },
        });
      },
    });
    await page.goto(appUrl(s.app, { model: s.modelUrl('tiny') }));
    await readyStatus(page);
    const dir = join(fixtures, 'groups');
    await page.getByTestId('file-input').setInputFiles(['config.json', 'model.safetensors', 'tokenizer.json'].map((f) => join(dir, f)));
    await waitText(page, 'load-error', /over the/);
    assert.match(
      await page.getByTestId('load-error').innerText(),
      /^model\.safetensors is 3\.22 GB \(3221225472 bytes\), over the 2147483647-byte limit for one model file/,
    );
    assert.equal(await progressRow(page, 'model.safetensors').getAttribute('data-state'), 'failed');
    assert.deepEqual(problems.filter((p) => /pageerror/.test(p)), []);
  });
});
