// Typing stays responsive with a real-sized model on the CPU backend (issue #13, item 2): with
// albert-base's shapes (random weights, the tiny tokenizer) at 128 tokens, a sentence is typed
// word by word with forwards running in between, while a `PerformanceObserver` records the page
// thread's long tasks (over 50 ms).
// - The forward runs in the CPU worker (src/worker.rs): no task on the page's thread comes near
//   the length of a forward (each takes several hundred ms here). The control, with Worker
//   blocked, runs forwards on the page's thread: the page says so, still predicts the same, and
//   the same observer sees tasks as long as a forward, so the measurement is not blind.
// - No task on the page's thread over 50 ms (the bar). What it took, traced with Chrome's
//   devtools.timeline while typing (bench/README.md "Typing at 128 tokens"): the page ranks the
//   vocabulary in one vectorized pass (albert::rank); each view of a result is built in a task of
//   its own (ui::stage); the head view's tokens are one HTML string; the neuron view draws only
//   the rows in sight, two canvases for all of them; views out of sight are neither laid out nor
//   painted (`content-visibility: auto`); and the sentence is in a form of its own, so Chrome's
//   autofill does not lay out the whole page on every keystroke.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  appUrl,
  assertSameTopK,
  baseShapedModelDir,
  cliFill,
  launch,
  readyStatus,
  startServers,
  waitPredictions,
  waitText,
} from './helpers.mjs';

const WORDS = 'the cat sat on the mat and the dog ran to the park while the children played in the garden near the old house by the river';
// 128 tokens with the tiny tokenizer (checked against the CLI below).
const FULL = `${WORDS} ${WORDS} ${WORDS} then went home at night [MASK].`;
const START = `${WORDS} [MASK].`;
const LONG_TASK_MS = 50;

let s;
let modelUrl;
before(async () => {
  s = await startServers();
  baseShapedModelDir();
  modelUrl = `${s.models.url}gen/base-shaped/`;
});
after(async () => s?.close());

/** Starts recording the page's long tasks (over 50 ms, as the browser defines them). */
async function watchLongTasks(page) {
  await page.evaluate(() => {
    window.__longTasks = [];
    new PerformanceObserver((list) => window.__longTasks.push(...list.getEntries().map((e) => Math.round(e.duration)))).observe({ type: 'longtask' });
  });
}

/** Workers refused, as a page with a strict worker-src policy sees it. */
const noWorkers = () => {
  window.Worker = function Worker() {
    throw new DOMException('workers are blocked on this page', 'SecurityError');
  };
};

/**
 * Types the rest of FULL after START's words, a word at a time (30 ms a key), pausing after every
 * fourth word for 400 ms so the debounced forward starts and runs while typing goes on. Returns
 * the long tasks seen and the forwards that finished meanwhile.
 */
async function typeSentence(page) {
  await watchLongTasks(page);
  const before = (await page.evaluate(() => window.albertLensStats())).forwards;
  const box = page.getByTestId('sentence');
  await box.click();
  // The caret before " [MASK]." in START: type the rest of FULL's words there.
  await page.keyboard.press('End');
  for (let i = 0; i < ' [MASK].'.length; i++) await page.keyboard.press('ArrowLeft');
  const rest = FULL.slice(WORDS.length, FULL.length - ' [MASK].'.length).trim().split(' ');
  for (const [i, w] of rest.entries()) {
    await page.keyboard.type(` ${w}`, { delay: 30 });
    if (i % 4 === 3) await page.waitForTimeout(400);
  }
  assert.equal(await box.inputValue(), FULL);
  const preds = await waitPredictions(page, 1, 120_000);
  const after = await page.evaluate(() => ({ long: window.__longTasks, stats: window.albertLensStats() }));
  return { preds, long: after.long, forwards: after.stats.forwards - before, forwardMs: Math.round(after.stats.longestForwardMs) };
}

describe('typing with albert-base shapes on the CPU backend, 128 tokens', () => {
  let typed;
  test('the forward runs in the CPU worker: no task on the page comes near a forward', async (t) => {
    const cli = cliFill(baseShapedModelDir(), FULL, 8);
    const { page, problems } = await launch(t);
    await page.goto(appUrl(s.app, { model: modelUrl, backend: 'cpu', text: START }));
    await readyStatus(page, 180_000);
    await waitPredictions(page, 1, 120_000);
    assert.equal(await page.getByTestId('load-notice').count(), 0, 'no note: the worker started');
    typed = await typeSentence(page);
    const { preds, long, forwards, forwardMs } = typed;
    assert.equal(await page.getByTestId('token').count(), 128);
    assertSameTopK(preds, cli);
    t.diagnostic(`${forwards} forwards while typing, the longest ${forwardMs} ms; long tasks on the page's thread: ${JSON.stringify(long)} ms`);
    assert.ok(forwards >= 3, `only ${forwards} forwards ran while typing`);
    const longest = Math.max(0, ...long);
    assert.ok(longest < forwardMs / 2, `a ${longest} ms task on the page's thread, against ${forwardMs} ms forwards: is the forward on the page's thread?`);
    assert.deepEqual(problems, []);
  });

  test('no task on the page over 50 ms while typing', () => {
    assert.ok(typed, 'the typing test ran');
    assert.deepEqual(typed.long.filter((ms) => ms > LONG_TASK_MS), [], `page-thread tasks over ${LONG_TASK_MS} ms while typing`);
  });

  test('control: without workers the page says so, still predicts, and its tasks are as long as a forward', async (t) => {
    const { page } = await launch(t, { initScript: noWorkers });
    await page.goto(appUrl(s.app, { model: modelUrl, backend: 'cpu', text: START }));
    await readyStatus(page, 180_000);
    await waitText(page, 'load-notice', /The CPU worker did not start \(the browser refused to start it \(SecurityError: workers are blocked on this page\)\), so forwards run on the page's thread/);
    const { preds, long, forwards, forwardMs } = await typeSentence(page);
    assertSameTopK(preds, cliFill(baseShapedModelDir(), FULL, 8));
    t.diagnostic(`${forwards} forwards on the page's thread, the longest ${forwardMs} ms; long tasks: ${JSON.stringify(long)} ms`);
    assert.ok(Math.max(0, ...long) >= forwardMs / 2, `the observer saw no task near a forward's length (${forwardMs} ms): ${JSON.stringify(long)}`);
  });
});
