// Shared helpers for the browser tests: servers, Chromium, the page's test hooks, and the
// `albert` CLI as the reference for predictions.
//
// The app is dist/ (trunk build --release). Models come from crates/albert/tests/fixtures (tiny
// random-weight checkpoints in Hugging Face layout) on a second server on another port, so
// `?model=` loads are cross-origin, as from the Hugging Face hub.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from '../../scripts/static-server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
export const root = resolve(here, '../..');
/** The built app: dist/, or ALBERT_DIST (a build kept apart, e.g. while another run uses dist/). */
export const dist = process.env.ALBERT_DIST ? resolve(process.env.ALBERT_DIST) : join(root, 'dist');
export const fixtures = join(root, 'crates/albert/tests/fixtures');
/** This run's screenshots (ignored by git): every run writes here and nowhere else. */
export const runShots = join(here, 'screenshots');
/** Screenshots kept in the repository for the README: written only with UPDATE_SCREENSHOTS=1. */
export const docsShots = join(root, 'docs/screenshots');
/** `UPDATE_SCREENSHOTS=1 node --test tests/e2e/` refreshes docs/screenshots (a deliberate act). */
export const updateDocsShots = process.env.UPDATE_SCREENSHOTS === '1';
export const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
/** The build embeds a default model (assets/model was present). */
export const hasDefaultModel = existsSync(join(dist, 'model/config.json'));

export const BASE_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/** WebGPU through Chromium's SwiftShader (CPU Vulkan): no GPU needed. */
export const WEBGPU_ARGS = ['--enable-unsafe-webgpu'];
export const READY_TIMEOUT_MS = 90_000;

export function checkPrerequisites() {
  assert.ok(
    existsSync(join(dist, 'index.html')),
    `${dist}/index.html is missing: build the app first (trunk build --release, as scripts/test does)`,
  );
  assert.ok(existsSync(executablePath), `no Chromium at ${executablePath} (scripts/setup installs it)`);
}

/** Where generated models live (served under /gen/ by the model server). */
export const generated = join(tmpdir(), 'albert-lens-e2e-models');

/**
 * The tiny fixture with room for 128 tokens (the fixtures read at most 64): its position
 * embeddings are repeated to 128 rows and config.json says so. Written once to `generated`/long.
 */
export function longModelDir() {
  const dir = join(generated, 'long');
  if (existsSync(join(dir, 'model.safetensors'))) return dir;
  mkdirSync(dir, { recursive: true });
  const src = join(fixtures, 'tiny');
  const config = JSON.parse(readFileSync(join(src, 'config.json'), 'utf8'));
  const oldLen = config.max_position_embeddings;
  config.max_position_embeddings = 128;
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(src, f), join(dir, f));
  const { header, data } = readSafetensors(join(src, 'model.safetensors'));
  const out = {};
  const parts = [];
  let offset = 0;
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') {
      out[name] = t;
      continue;
    }
    let bytes = data.subarray(t.data_offsets[0], t.data_offsets[1]);
    let shape = t.shape;
    if (name.endsWith('position_embeddings.weight')) {
      const row = bytes.length / oldLen;
      bytes = Buffer.concat(Array.from({ length: 128 }, (_, i) => bytes.subarray((i % oldLen) * row, (i % oldLen + 1) * row)));
      shape = [128, shape[1]];
    }
    out[name] = { dtype: t.dtype, shape, data_offsets: [offset, offset + bytes.length] };
    offset += bytes.length;
    parts.push(bytes);
  }
  writeSafetensors(join(dir, 'model.safetensors'), out, parts);
  return dir;
}

/** safetensors: u64 header length, the JSON header (padded to 8 bytes), then the tensors' bytes. */
function readSafetensors(path) {
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  return { header: JSON.parse(buf.subarray(8, 8 + n).toString('utf8')), data: buf.subarray(8 + n) };
}

function writeSafetensors(path, header, parts) {
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  writeFileSync(path, Buffer.concat([len, Buffer.from(json), ...parts]));
}

/**
 * albert-base-v2's shapes (V 30000, E 128, H 768, 12 heads, FFN 3072, 12 layers, one shared
 * group, 512 positions) with random weights (std 0.02, LayerNorms at 1 and 0, f32: 47 MB) and
 * the tiny fixture's tokenizer, written once to `generated`/base-shaped: the size of work a
 * real checkpoint gives the page, without the Hub. The tensor list is the tiny fixture's, each
 * dimension mapped from tiny's config to base's.
 */
export function baseShapedModelDir() {
  const dir = join(generated, 'base-shaped');
  if (existsSync(join(dir, 'model.safetensors'))) return dir;
  mkdirSync(dir, { recursive: true });
  const src = join(fixtures, 'tiny');
  const tiny = JSON.parse(readFileSync(join(src, 'config.json'), 'utf8'));
  const base = { vocab_size: 30000, embedding_size: 128, hidden_size: 768, num_attention_heads: 12, intermediate_size: 3072, num_hidden_layers: 12, max_position_embeddings: 512 };
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...tiny, ...base, initializer_range: 0.02 }, null, 2));
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(src, f), join(dir, f));
  const dims = new Map(['vocab_size', 'embedding_size', 'hidden_size', 'intermediate_size', 'max_position_embeddings'].map((k) => [tiny[k], base[k]]));
  const { header } = readSafetensors(join(src, 'model.safetensors'));
  let seed = 12345;
  const uniform = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) - 0.5;
  const out = { __metadata__: { format: 'pt' } };
  const parts = [];
  let offset = 0;
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const shape = t.shape.map((d) => (d === 2 && name.includes('token_type') ? 2 : dims.get(d) ?? d));
    const n = shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(n);
    const norm = /LayerNorm|layer_norm/.test(name);
    // std 0.02 (uniform on ±0.02·√3); LayerNorm weights 1, every bias and LayerNorm bias 0.
    if (norm && name.endsWith('weight')) values.fill(1);
    else if (!name.endsWith('bias')) for (let i = 0; i < n; i++) values[i] = uniform() * 0.02 * 2 * Math.sqrt(3);
    const bytes = Buffer.from(values.buffer);
    out[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + bytes.length] };
    offset += bytes.length;
    parts.push(bytes);
  }
  writeSafetensors(join(dir, 'model.safetensors'), out, parts);
  return dir;
}

/** Starts the app server and a cross-origin model server (fixtures), logging model requests. */
export async function startServers({ chunkDelayMs = 0 } = {}) {
  checkPrerequisites();
  longModelDir();
  const app = await startServer({ root: dist, port: 0 });
  const modelLog = [];
  const models = await startServer({
    root: fixtures,
    port: 0,
    cors: true,
    chunkDelayMs,
    log: modelLog,
    mounts: { '/gen/': generated },
  });
  return {
    app,
    models,
    modelLog,
    modelUrl: (name) => `${models.url}${name}/`,
    close: async () => {
      await app.close();
      await models.close();
    },
  };
}

/** `?model=…&…` for the app. */
export function appUrl(app, params = {}) {
  const q = new URLSearchParams(params).toString();
  return q ? `${app.url}?${q}` : app.url;
}

/**
 * Launches Chromium with a fresh profile and opens a page (not navigated). `problems` collects
 * page errors, console errors and failed requests, except the expected 404s of optional model
 * files (a sharded index, spiece.model) and the page's questions to the real Hub: this machine
 * has no internet, so requests to huggingface.co are cut as the browser would see it offline
 * (the Hub picker then says the Hub cannot be reached); tests of the picker pass `?hub=` a
 * loopback Hub (hub-server.mjs).
 */
export async function launch(
  t,
  { webgpu = true, viewport = { width: 1280, height: 900 }, initScript, colorScheme, confirmDownloads = true } = {},
) {
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: [...BASE_ARGS, ...(webgpu ? WEBGPU_ARGS : [])],
  });
  t.after(() => browser.close());
  const context = await browser.newContext({ viewport, colorScheme });
  await context.route(/^https:\/\/huggingface\.co\//, (route) => route.abort('internetdisconnected'));
  // A `?model=` link on another origin (the fixture server is one) waits for the user's OK
  // (`download-confirm`); the tests that open one mean it, so the OK is clicked as it appears.
  // The question itself is tested with `confirmDownloads: false` (downloads.test.mjs).
  if (confirmDownloads) await context.addInitScript(autoConfirm);
  if (initScript) await context.addInitScript(initScript);
  const page = await context.newPage();
  const problems = [];
  const expected404 = /model\.safetensors\.index\.json|spiece\.model|tokenizer_config\.json/;
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/status of 404|ERR_INTERNET_DISCONNECTED/.test(msg.text())) problems.push(`console.error: ${msg.text()}`);
  });
  page.on('response', (res) => {
    if (res.status() >= 400 && !(res.status() === 404 && expected404.test(res.url()))) {
      problems.push(`HTTP ${res.status()}: ${res.url()}`);
    }
  });
  return { browser, context, page, problems };
}

/** In the page: clicks "Download it" whenever the cross-origin question appears. */
function autoConfirm() {
  new MutationObserver(() => document.querySelector('[data-testid="download-confirm-yes"]')?.click()).observe(document, {
    subtree: true,
    childList: true,
  });
}

/** Waits for `data-state` ready or error and returns the status fields. */
export async function settledStatus(page, timeout = READY_TIMEOUT_MS) {
  await page.waitForSelector('[data-testid="status"]:is([data-state="ready"], [data-state="error"])', { timeout });
  const status = page.getByTestId('status');
  return {
    state: await status.getAttribute('data-state'),
    backend: await status.getAttribute('data-backend'),
    text: (await status.innerText()).trim(),
  };
}

export async function readyStatus(page, timeout = READY_TIMEOUT_MS) {
  const s = await settledStatus(page, timeout);
  assert.equal(s.state, 'ready', `status: ${JSON.stringify(s)}`);
  return s;
}

/**
 * Waits until the element with `data-testid` = `testid` exists and its text matches `pattern`
 * (a RegExp, or a string it must contain). Null-safe on purpose: before the wasm app mounts the
 * element is absent, and a predicate that throws ends Playwright's wait at once (CI's slower
 * start turned that race into three failures in a row).
 */
export async function waitText(page, testid, pattern, timeout = READY_TIMEOUT_MS) {
  const re = pattern instanceof RegExp ? { source: pattern.source, flags: pattern.flags } : null;
  await page.waitForFunction(
    ([id, re, text]) => {
      const got = document.querySelector(`[data-testid="${id}"]`)?.textContent;
      if (got == null) return false;
      return re ? new RegExp(re.source, re.flags).test(got) : got.includes(text);
    },
    [testid, re, re ? null : pattern],
    { timeout },
  );
}

/** The predictions on the page: one entry per [MASK] group. */
export async function readPredictions(page) {
  return page.$$eval('[data-testid="mask"]', (groups) =>
    groups.map((g) => ({
      position: Number(g.dataset.position),
      top_k: [...g.querySelectorAll('[data-testid="prediction"]')].map((p) => ({
        token: p.dataset.token,
        id: Number(p.dataset.id),
        prob: Number(p.dataset.prob),
      })),
    })),
  );
}

/** Waits until `masks` [MASK] groups with predictions are shown, and returns them. */
export async function waitPredictions(page, masks = 1, timeout = READY_TIMEOUT_MS) {
  await page.waitForFunction(
    (n) =>
      document.querySelectorAll('[data-testid="mask"]').length === n &&
      [...document.querySelectorAll('[data-testid="mask"]')].every((g) => g.querySelector('[data-testid="prediction"]')),
    masks,
    { timeout },
  );
  return readPredictions(page);
}

/** Types `text` into the sentence box (replacing it) and waits for its predictions. */
export async function enterSentence(page, text) {
  await page.getByTestId('sentence').fill(text);
  const n = (text.match(/\[MASK\]/g) || []).length;
  return waitPredictions(page, n);
}

/**
 * Opens `modelUrl` on the CPU path with URL `params` (e.g. `threads`, `simd`), fills `text`, and
 * returns its predictions, the CPU worker's stats (its build, threads, shared products, and
 * whether the page is cross-origin isolated) and the page's problems. `opts` go to `launch`.
 */
export async function openOnCpu(t, app, modelUrl, text, params = {}, opts = {}) {
  const { page, problems } = await launch(t, { webgpu: false, ...opts });
  await page.goto(appUrl(app, { model: modelUrl, backend: 'cpu', ...params }));
  const status = await readyStatus(page, 180_000);
  assert.equal(status.backend, 'cpu');
  const preds = await enterSentence(page, text);
  const stats = await page.evaluate(() => {
    const st = window.albertLensStats();
    return { kernel: st.cpuKernel, threads: st.workerThreads, shared: st.workerSharedProducts, isolated: globalThis.crossOriginIsolated };
  });
  return { preds, stats, problems };
}

let cliBin;
/**
 * The `albert` CLI, the reference the page is held against: the release build, else the debug
 * build, whichever is no older than the engine's sources (`scripts/albert-bin --check`, the rule
 * bench/compare uses). A stale or missing binary is refused, never used: scripts/test builds one
 * (`scripts/albert-bin debug`) before the browser tests.
 */
function albertCli() {
  if (cliBin) return cliBin;
  const reasons = [];
  for (const profile of ['release', 'debug']) {
    try {
      const out = execFileSync('bash', [join(root, 'scripts/albert-bin'), '--check', profile], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      return (cliBin = out.trim());
    } catch (e) {
      reasons.push(String(e.stderr || e.message).trim());
    }
  }
  throw new Error(`no fresh albert CLI to compare the page with:\n  ${reasons.join('\n  ')}`);
}

const cliCache = new Map();
/** `albert fill --json --device cpu` on a model folder: the reference top-k per [MASK]. */
export function cliFill(modelDir, text, topK = 5) {
  const key = JSON.stringify([modelDir, text, topK]);
  if (!cliCache.has(key)) {
    const out = execFileSync(
      albertCli(),
      ['fill', '--model', modelDir, '--text', text, '--top-k', String(topK), '--device', 'cpu', '--json'],
      { cwd: root, encoding: 'utf8' },
    );
    cliCache.set(key, JSON.parse(out));
  }
  return cliCache.get(key);
}

/**
 * Asserts the page's predictions equal the CLI's: same [MASK] positions, and rank by rank the
 * same token with the same probability (to `tol`). Where the CLI's probabilities are within `tol`
 * of each other (a near tie), either order is accepted. The CLI list should be longer than the
 * page's (top_k + 3) so a near tie at the last rank can be judged.
 */
export function assertSameTopK(page, cli, tol = 2e-4) {
  assert.equal(page.length, cli.masks.length, 'number of [MASK] groups');
  page.forEach((m, i) => {
    const ref = cli.masks[i];
    assert.equal(m.position, ref.position, `[MASK] ${i} position`);
    m.top_k.forEach((p, r) => {
      const want = ref.top_k[r];
      assert.ok(Math.abs(p.prob - want.prob) <= tol, `[MASK] ${i} rank ${r}: prob ${p.prob} vs CLI ${want.prob} (${want.token})`);
      const tied = ref.top_k.filter((q) => Math.abs(q.prob - want.prob) <= tol).map((q) => q.id);
      assert.ok(tied.includes(p.id), `[MASK] ${i} rank ${r}: ${p.token} (${p.id}) vs CLI ${want.token} (${want.id})`);
      const cliToken = ref.top_k.find((q) => q.id === p.id);
      assert.equal(p.token, cliToken.token, `token string of id ${p.id}`);
    });
  });
}

/**
 * The sentence after picking `token` (a vocabulary entry) for the `nth` [MASK], as the page does
 * it: a `▁` token starts a word, any other piece is glued to the text before the mask.
 */
export function applyPick(text, nth, token) {
  let i = -1;
  for (let k = 0; k <= nth; k++) i = text.indexOf('[MASK]', i + 1);
  const special = /^\[.*\]$|^<.*>$/.test(token);
  const startsWord = token.startsWith('▁') || special;
  const word = token.replace(/^▁/, '');
  let before = text.slice(0, i);
  const afterText = text.slice(i + '[MASK]'.length);
  if (startsWord) {
    if (word && /[\p{L}\p{N}]$/u.test(before)) before += ' ';
  } else {
    before = before.replace(/[ \t]+$/, '');
  }
  return before + word + afterText;
}

/**
 * Saves a screenshot into this run's folder (tests/e2e/screenshots/, ignored by git) and, when
 * the run refreshes them (UPDATE_SCREENSHOTS=1) and `docs` is set, into docs/screenshots too.
 * `blur` (default) drops the focus first: no focus ring or caret in the pictures.
 */
export async function screenshot(target, name, { docs = true, blur = true, ...opts } = {}) {
  mkdirSync(runShots, { recursive: true });
  if (blur) {
    const page = typeof target.page === 'function' ? target.page() : target;
    await page.evaluate(() => document.activeElement?.blur?.());
  }
  await target.screenshot({ path: join(runShots, name), ...opts });
  if (docs && updateDocsShots) {
    mkdirSync(docsShots, { recursive: true });
    copyFileSync(join(runShots, name), join(docsShots, name));
  }
}

/** Bytes of a fixture file. */
export function fixtureSize(model, file) {
  return readFileSync(join(fixtures, model, file)).length;
}

/** The model to show in screenshots and time: the embedded default when the build has one. */
export function showcaseModel(servers) {
  return hasDefaultModel
    ? { params: {}, dir: join(root, 'assets/model'), name: 'embedded default model' }
    : { params: { model: servers.modelUrl('tiny') }, dir: join(fixtures, 'tiny'), name: 'tiny fixture' };
}

/** Any `albert` subcommand with `--json --device cpu` (cached): e.g. `['fill', '--model', dir, '--lens']`. */
export function cliJson(args) {
  const key = JSON.stringify(args);
  if (!cliCache.has(key)) {
    const out = execFileSync(albertCli(), [...args, '--device', 'cpu', '--json'], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 28 });
    cliCache.set(key, JSON.parse(out));
  }
  return cliCache.get(key);
}

/** Sets a range input's value as a user dragging it would (an `input` event). */
export async function setRange(locator, value) {
  await locator.evaluate((el, v) => {
    el.value = String(v);
    el.dispatchEvent(new Event('input', { bubbles: true }));
  }, value);
}
