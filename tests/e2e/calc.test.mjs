// Browser test of the parameter calculator: every preset gives transformers' count
// (src/view_model/testdata/param_counts.json, written by tools/golden/param_counts.py), and
// editing a shape or the sharing mode updates the total.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { launch, readyStatus, root, screenshot, startServers } from './helpers.mjs';

const counts = JSON.parse(readFileSync(join(root, 'src/view_model/testdata/param_counts.json'), 'utf8'));
let s;
before(async () => {
  s = await startServers();
});
after(async () => {
  await s?.close();
});

test('the calculator: presets equal transformers, sharing and shapes change the total', async (t) => {
  const { page, problems } = await launch(t);
  await page.goto(s.app.url);
  await readyStatus(page);
  const params = () => page.getByTestId('calc-params').getAttribute('data-params').then(Number);
  const preset = page.getByTestId('calc-preset');
  for (const [id, bySharing] of Object.entries(counts.albert)) {
    await preset.selectOption(id);
    assert.equal(await params(), bySharing.all, id);
  }
  await preset.selectOption('albert-base-v2');
  await screenshot(page.locator('section.calc'), 'calculator.png');
  for (const mode of ['attention', 'ffn', 'none', 'all']) {
    await page.getByTestId('calc-sharing').selectOption(mode);
    assert.equal(await params(), counts.albert['albert-base-v2'][mode], `albert-base-v2, ${mode} sharing`);
  }
  // BERT presets fill the shapes; the ALBERT side keeps the 128-wide embeddings of a BERT-shaped ALBERT.
  await preset.selectOption('bert-base-uncased');
  const bertTotal = await page.locator('[data-testid="calc-params"] tbody tr:nth-child(5) td:nth-child(3)').innerText();
  assert.equal(bertTotal.replace(/[^0-9]/g, ''), String(counts.bert['bert-base-uncased']));
  // One more layer of a not-shared model adds one block.
  await preset.selectOption('albert-base-v2');
  await page.getByTestId('calc-sharing').selectOption('none');
  const before12 = await params();
  await page.getByLabel('layers L').fill('13');
  assert.equal((await params()) - before12, (counts.albert['albert-base-v2'].none - counts.albert['albert-base-v2'].all) / 11);
  assert.deepEqual(problems, []);
});
