// Shared helpers for the browser tests: servers, Chromium, the page's test hooks and screenshots.
// The one import of every test: it also passes on the paths (paths.mjs), the generated models
// (models.mjs) and the CLI as the reference for predictions (reference.mjs).
//
// The app is dist/ (trunk build --release). Models come from crates/albert/tests/fixtures (tiny
// random-weight checkpoints in Hugging Face layout) on a second server on another port, so
// `?model=` loads are cross-origin, as from the Hugging Face hub.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startServer } from '../../scripts/static-server.mjs';
import { dist, fixtures, generated, here, root } from './paths.mjs';
import { longModelDir } from './models.mjs';

export { dist, fixtures, generated, root } from './paths.mjs';
export { baseShapedModelDir, fixtureSize, longModelDir } from './models.mjs';
export { assertSameTopK, cliFill, cliJson } from './reference.mjs';

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

/** The model to show in screenshots and time: the embedded default when the build has one. */
export function showcaseModel(servers) {
  return hasDefaultModel
    ? { params: {}, dir: join(root, 'assets/model'), name: 'embedded default model' }
    : { params: { model: servers.modelUrl('tiny') }, dir: join(fixtures, 'tiny'), name: 'tiny fixture' };
}

/** Sets a range input's value as a user dragging it would (an `input` event). */
export async function setRange(locator, value) {
  await locator.evaluate((el, v) => {
    el.value = String(v);
    el.dispatchEvent(new Event('input', { bubbles: true }));
  }, value);
}
