// Browser end-to-end tests for the albert-lens page.
//
// Serves dist/ (built by `trunk build --release`) from a static server on a free
// loopback port and drives Debian's headless Chromium with playwright-core.
// WebGPU comes from Chromium's bundled SwiftShader (CPU Vulkan), so no GPU is needed.
//
//   node --test tests/e2e/          (scripts/test builds dist/ first)
//   CHROMIUM_PATH=/path/to/chrome node --test tests/e2e/
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from '../../scripts/static-server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const dist = join(root, 'dist');
const screenshots = join(here, 'screenshots');
const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

// Flags that keep headless Chromium quiet and offline; WebGPU is added per test.
const BASE_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const WEBGPU_ARGS = ['--enable-unsafe-webgpu'];

const READY_TIMEOUT_MS = 60_000;

let server;

before(async () => {
  assert.ok(
    existsSync(join(dist, 'index.html')),
    `${dist}/index.html is missing: build the app first (trunk build --release, as scripts/test does)`,
  );
  assert.ok(existsSync(executablePath), `no Chromium at ${executablePath} (scripts/setup installs it)`);
  server = await startServer({ root: dist, port: 0 });
});

after(async () => {
  await server?.close();
});

/** Launches Chromium (a fresh temporary profile each time) and opens the app. */
async function openApp(t, { args = [], initScript } = {}) {
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: [...BASE_ARGS, ...args],
  });
  t.after(() => browser.close());
  const context = await browser.newContext({ viewport: { width: 1000, height: 700 } });
  if (initScript) await context.addInitScript(initScript);
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console.error: ${msg.text()}`);
  });
  page.on('requestfailed', (req) => problems.push(`request failed: ${req.url()}`));
  page.on('response', (res) => {
    if (res.status() >= 400) problems.push(`HTTP ${res.status()}: ${res.url()}`);
  });
  await page.goto(server.url);
  return { browser, page, problems };
}

/** Waits until the status element leaves data-state="loading" and returns its fields. */
async function settledStatus(page) {
  const status = page.getByTestId('status');
  await page.waitForSelector('[data-testid="status"][data-state]:not([data-state="loading"])', {
    timeout: READY_TIMEOUT_MS,
  });
  return {
    state: await status.getAttribute('data-state'),
    backend: await status.getAttribute('data-backend'),
    text: (await status.innerText()).trim(),
  };
}

describe('albert-lens page with WebGPU (SwiftShader)', () => {
  test('title, header, explanation and prefilled sentence', async (t) => {
    const { page, problems } = await openApp(t, { args: WEBGPU_ARGS });
    assert.equal(await page.title(), 'albert-lens');
    assert.equal((await page.locator('header h1').innerText()).trim(), 'albert-lens');
    const intro = await page.locator('p.intro').innerText();
    assert.match(intro, /ALBERT/);
    assert.match(intro, /WebGPU/);
    assert.match(await page.getByTestId('notice').innerText(), /model UI is coming/);
    assert.equal(await page.getByTestId('sentence').inputValue(), 'The capital of France is [MASK].');
    await settledStatus(page);
    assert.deepEqual(problems, []);
  });

  test('status reaches ready on the webgpu backend and shows the adapter', async (t) => {
    const { page, problems } = await openApp(t, { args: WEBGPU_ARGS });
    const status = await settledStatus(page);
    assert.equal(status.state, 'ready', `status: ${JSON.stringify(status)}`);
    assert.equal(status.backend, 'webgpu', `status: ${JSON.stringify(status)}`);
    const adapter = (await page.getByTestId('adapter').innerText()).trim();
    assert.match(adapter, /^WebGPU adapter: \S/);
    // The page must report what the browser itself reports.
    const info = await page.evaluate(async () => {
      const a = await navigator.gpu.requestAdapter();
      return a ? { vendor: a.info.vendor, architecture: a.info.architecture } : null;
    });
    assert.ok(info, 'navigator.gpu.requestAdapter() returned null in the test browser');
    for (const field of [info.vendor, info.architecture].filter(Boolean)) {
      assert.ok(adapter.includes(field), `adapter line ${JSON.stringify(adapter)} lacks ${field}`);
    }
    t.diagnostic(adapter);
    mkdirSync(screenshots, { recursive: true });
    await page.screenshot({ path: join(screenshots, 'app.png'), fullPage: true });
    assert.deepEqual(problems, []);
  });

  test('the sentence box is editable', async (t) => {
    const { page } = await openApp(t, { args: WEBGPU_ARGS });
    const box = page.getByTestId('sentence');
    await box.fill('Paris is the [MASK] of France.');
    assert.equal(await box.inputValue(), 'Paris is the [MASK] of France.');
  });
});

describe('albert-lens page without WebGPU', () => {
  // Headless Chromium on Linux without --enable-unsafe-webgpu still exposes
  // navigator.gpu, but requestAdapter() resolves to null ("No available adapters").
  test('no adapter granted: falls back to cpu and still reaches ready', async (t) => {
    const { page, problems } = await openApp(t);
    const status = await settledStatus(page);
    assert.equal(status.state, 'ready', `status: ${JSON.stringify(status)}`);
    assert.equal(status.backend, 'cpu', `status: ${JSON.stringify(status)}`);
    const hasApi = await page.evaluate(() => 'gpu' in navigator && !!navigator.gpu);
    assert.match(status.text, hasApi ? /no adapter was granted/ : /no WebGPU/);
    assert.deepEqual(problems, []);
  });

  test('a browser without navigator.gpu falls back to cpu', async (t) => {
    const { page, problems } = await openApp(t, {
      args: WEBGPU_ARGS,
      initScript: () => {
        Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true });
      },
    });
    const status = await settledStatus(page);
    assert.equal(status.state, 'ready', `status: ${JSON.stringify(status)}`);
    assert.equal(status.backend, 'cpu', `status: ${JSON.stringify(status)}`);
    assert.match(status.text, /no WebGPU/);
    assert.deepEqual(problems, []);
  });

  test('a failing WebGPU probe shows data-state="error"', async (t) => {
    const { page } = await openApp(t, {
      args: WEBGPU_ARGS,
      initScript: () => {
        const gpu = navigator.gpu;
        if (gpu) gpu.requestAdapter = () => Promise.reject(new Error('adapter request refused by test'));
      },
    });
    const status = await settledStatus(page);
    assert.equal(status.state, 'error', `status: ${JSON.stringify(status)}`);
    assert.equal(status.backend, 'cpu');
    assert.match(status.text, /adapter request refused by test/);
  });
});
