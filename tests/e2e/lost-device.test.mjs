// Browser test of a lost WebGPU device (#13 item 4): `window.albertLensLoseDevice()` destroys the
// device as a driver reset would, once while idle and once right as a forward starts. Each time
// the page says what happened, sets up a new device, pipelines and weights from memory, stays on
// WebGPU, and the newest sentence gets the CLI's predictions; no error is left on the sentence.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { appUrl, assertSameTopK, cliJson, fixtures, launch, readPredictions, readyStatus, startServers, waitPredictions } from './helpers.mjs';

const MODEL = join(fixtures, 'groups');
let s;

before(async () => {
  s = await startServers();
});
after(async () => {
  await s?.close();
});

/** Types `text` and waits for its predictions (its [MASK] position, from the CLI). */
async function predictionsFor(page, text, { loseDevice = false } = {}) {
  const want = cliJson(['fill', '--model', MODEL, '--text', text, '--top-k', '5']);
  const position = want.masks[0].position;
  if (loseDevice) {
    // The device goes in the same task as the keystroke: the forward it starts meets a dead device.
    await page.getByTestId('sentence').evaluate((el, t) => {
      el.value = t;
      el.dispatchEvent(new Event('input', { bubbles: true }));
      setTimeout(() => window.albertLensLoseDevice(), 0);
    }, text);
  } else {
    await page.getByTestId('sentence').fill(text);
  }
  await page.waitForSelector(`[data-testid="mask"][data-position="${position}"] [data-testid="prediction"]`, { timeout: 60_000 });
  await waitPredictions(page, 1);
  assertSameTopK(await readPredictions(page), want);
}

describe('lost device', () => {
  test('the page recovers from a lost WebGPU device and the next input works', async (t) => {
    const { page } = await launch(t);
    // The page's console, for the failure message: what the page said before a wait ran out.
    const consoleLines = [];
    page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
    await page.goto(appUrl(s.app, { model: s.modelUrl('groups'), text: 'the cat sat on the [MASK].' }));
    const st = await readyStatus(page);
    assert.equal(st.backend, 'webgpu', JSON.stringify(st));
    await waitPredictions(page, 1);

    // 1. Lost while idle: the next input meets it.
    assert.equal(await page.evaluate(() => window.albertLensLoseDevice()), true, 'there was a device to lose');
    await predictionsFor(page, 'the [MASK] sat on the mat.');
    const notice = page.getByTestId('notice');
    console.log(`after the loss: ${await notice.innerText()}`);
    assert.match(await notice.innerText(), /The GPU device was lost \(.+\)\. A new device, its pipelines and the weights \(from memory\) were set up again in/);
    let now = await readyStatus(page);
    assert.equal(now.backend, 'webgpu', 'still on WebGPU, on a new device');
    assert.equal(await page.getByTestId('fill-error').count(), 0, 'the loss is not shown as the sentence\'s error');

    // 2. Lost as a forward starts.
    await predictionsFor(page, 'a dog and the cat sat on the [MASK] today.', { loseDevice: true });
    now = await readyStatus(page);
    assert.equal(now.backend, 'webgpu');
    assert.equal(await page.getByTestId('fill-error').count(), 0);

    // The rebuilt model serves the other cards too: the cross-check passes on the new device.
    // From the keyboard, as crosscheck.test.mjs does. Under CPU load a mouse click here was lost
    // in about one run of five (the button stayed idle: no verdict, no error), and never when a
    // probe slowed the test down; most likely what was under the pointer when Playwright aimed
    // had moved by the time it clicked.
    await page.getByTestId('crosscheck').focus();
    await page.keyboard.press('Enter');
    await page
      .locator('[data-testid="crosscheck-result"]')
      .waitFor({ timeout: 60_000 })
      .catch(async (e) => {
        const card = await page.getByTestId('crosscheck-card').innerText();
        const status = await page.getByTestId('status').innerText();
        throw new Error(`no cross-check result: ${e.message}\ncard: ${card}\nstatus: ${status}\nconsole:\n${consoleLines.join('\n')}`);
      });
    assert.equal(await page.getByTestId('crosscheck-result').getAttribute('data-state'), 'pass');
  });
});
