// bench/browser's driver on the tiny fixture: every column (ours WebGPU, ours CPU-wasm,
// transformers.js WebGPU and wasm, both ONNX variants) runs in one Chromium for n=8 with one
// timed run, the same-weights checks pass, and the README table renders with finite numbers.
//
// The ONNX files are committed (tests/e2e/fixtures/tiny-onnx, < 1 MB) so no Python is needed:
//   bench/.venv-onnx/bin/python bench/browser.d/export_onnx.py \
//     --from crates/albert/tests/fixtures/tiny --onnx-out tests/e2e/fixtures/tiny-onnx
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkPrerequisites, fixtures, root } from './helpers.mjs';
import { parse, runBench } from '../../bench/browser.d/driver.mjs';
import { profileRows, ratioRows, ratioSummary, render, renderSummary, tableRows, writeReadme } from '../../bench/browser.d/table.mjs';

const TINY = join(fixtures, 'tiny');
const ONNX = join(root, 'tests/e2e/fixtures/tiny-onnx');

test('the committed ONNX fixture is the tiny fixture’s weights', () => {
  const ref = JSON.parse(readFileSync(join(ONNX, 'reference.json'), 'utf8'));
  const sha = createHash('sha256').update(readFileSync(join(TINY, 'model.safetensors'))).digest('hex');
  assert.equal(ref.weights_sha256, sha, 'crates/albert/tests/fixtures/tiny changed: re-run the export (see this file’s header)');
  assert.equal(ref.parity.ok, true);
  assert.ok(ref.parity.checks.length >= 4);
});

test('bench/browser --rounds: each run’s ratio, their median and range, each run’s column order', () => {
  const run = (ours, theirs, order) => ({
    date: '2026-12-04T14:00:00.000Z',
    settings: { seq: [8, 128], columns: ['ours-cpu', 'tjs-wasm'], column_order: order, tjs_threads: 2 },
    columns: {
      'ours-cpu': { report: { rows: [{ seq_len: 8, p50_ms: ours[0], threads: 2 }, { seq_len: 128, p50_ms: ours[1], threads: 2 }] } },
      'tjs-wasm': { variants: [{ variant: 'row', rows: [{ seq_len: 8, p50_ms: theirs[0] }, { seq_len: 128, p50_ms: theirs[1] }] }] },
    },
  });
  const forward = ['ours-cpu', 'tjs-wasm'];
  const back = ['tjs-wasm', 'ours-cpu'];
  // n = 8: 0.5, 1.5, 1.0; n = 128: 1.0, 0.9, 1.2.
  const runs = [run([10, 100], [20, 100], forward), run([30, 90], [20, 100], back), run([10, 120], [10, 100], forward)];
  const { seq, rows } = ratioSummary(runs);
  assert.deepEqual(seq, [8, 128]);
  assert.equal(rows.length, 1);
  assert.deepEqual(rows[0].cells[8], { median: 1, min: 0.5, max: 1.5, runs: 3 });
  assert.deepEqual(rows[0].cells[128], { median: 1, min: 0.9, max: 1.2, runs: 3 });
  // An even count: the middle two's mean.
  assert.equal(ratioSummary(runs.slice(0, 2)).rows[0].cells[8].median, 1);
  const text = renderSummary(runs, ['results/a.json', 'results/b.json', 'results/c.json']);
  assert.match(text, /^Ratios of p50 over 3 runs/);
  assert.match(text, /\n\| ours CPU-wasm ÷ transformers\.js wasm \(same work: \[MASK\] row\) \| 1\.00 \(0\.50–1\.50\) \| 1\.00 \(0\.90–1\.20\) \|/);
  assert.match(text, /- results\/b\.json \(tjs-wasm → ours-cpu, 14:00 UTC\): n=8 30\.0 \/ 20\.0, n=128 90\.0 \/ 100/);
  assert.equal(parse(['--model-dir', TINY, '--rounds', '3']).rounds, 3);
  assert.equal(parse(['--model-dir', TINY]).rounds, 1);
  for (const bad of ['0', '1.5', 'x']) assert.throws(() => parse(['--model-dir', TINY, '--rounds', bad]), /--rounds/);
  assert.throws(() => parse(['--model-dir', TINY, '--rounds', '2', '--out', 'x.json']), /--rounds saves one results file a round/);
});

test('bench/browser driver: all columns on the tiny model, n=8, 1 run', { timeout: 180_000 }, async () => {
  checkPrerequisites();
  const opts = parse(['--model-dir', TINY, '--onnx-dir', join(ONNX, 'onnx'), '--seq', '8', '--runs', '1', '--cpu-runs', '1', '--warmup', '0', '--cpu-warmup', '0', '--no-save', '--no-readme', '--column-timeout-s', '120']);
  const res = await runBench(opts);
  assert.deepEqual(res.errors, []);
  assert.match(res.chromium.version, /^\d+\./);

  for (const [col, backend] of [['ours-webgpu', 'webgpu'], ['ours-cpu', 'cpu']]) {
    const r = res.columns[col];
    assert.equal(r.backend, backend);
    assert.equal(r.report.backend, backend);
    assert.equal(r.report.rows.length, 1);
    assert.ok(r.report.rows[0].p50_ms > 0 && Number.isFinite(r.report.rows[0].p50_ms), JSON.stringify(r.report.rows));
    assert.equal(r.verify.ok, true, `${col} same-weights check: ${JSON.stringify(r.verify)}`);
    assert.equal(r.verify.checks.length, 5);
  }
  assert.ok(res.columns['ours-webgpu'].report.adapter, 'ours reports its adapter');
  // ?profile=1 (on by default): every dispatch timed once, by stage; or the reason it could not be.
  const ow = res.columns['ours-webgpu'].report;
  const profile = ow.rows[0].profile;
  if (profile) {
    assert.ok(profile.some((s) => s.stage === 'predictions.decoder') && profile.some((s) => s.stage === 'ffn' && s.calls === 3), JSON.stringify(profile));
    assert.ok(profile.every((s) => s.ms >= 0 && Number.isFinite(s.ms)));
    assert.ok(profileRows(res).length >= 10, 'one README row a stage');
  } else {
    assert.match(ow.profile_unavailable, /timestamp/);
  }
  assert.equal(res.columns['ours-cpu'].report.rows[0].profile, null, 'the CPU backend has no dispatches to time');
  for (const col of ['tjs-webgpu', 'tjs-wasm']) {
    const r = res.columns[col];
    assert.deepEqual(r.variants.map((v) => v.variant), ['row', 'full']);
    assert.equal(r.tokenizer_ids_equal, true, 'transformers.js tokenizes the verify text as torch’s tokenizer does');
    for (const v of r.variants) {
      assert.equal(v.error, undefined);
      assert.ok(v.verify.length >= 2 && v.verify.every((x) => x.ok && Number.isFinite(x.max_abs_diff)), JSON.stringify(v.verify));
      assert.equal(v.rows.length, 1);
      assert.ok(v.rows[0].p50_ms > 0 && Number.isFinite(v.rows[0].p50_ms));
      assert.deepEqual(v.rows[0].logits_shape, [1, v.variant === 'row' ? 1 : 8, 1000]);
    }
  }
  assert.equal(res.columns['tjs-webgpu'].adapter?.architecture !== undefined, true, 'WebGPU adapter info');

  // Six configurations, six ratios, all finite; the README block is replaced between its markers.
  assert.equal(tableRows(res).length, 6);
  const ratios = ratioRows(res);
  assert.equal(ratios.length, 6);
  for (const r of ratios) assert.ok(Number.isFinite(r.cells[8]) && r.cells[8] > 0, JSON.stringify(r));
  const table = render(res, 'results/test.json');
  assert.doesNotMatch(table, /\| — \|/);
  const dir = mkdtempSync(join(tmpdir(), 'bench-browser-'));
  const readme = join(dir, 'README.md');
  writeFileSync(readme, 'before\n<!-- browser-table:start -->\nold\n<!-- browser-table:end -->\nafter\n');
  writeReadme(table, readme);
  const text = readFileSync(readme, 'utf8');
  assert.match(text, /^before\n<!-- browser-table:start -->\n### tiny: 3 layers, H 32\n\nGenerated by `bench\/browser`/);
  assert.match(text, /ours WebGPU ÷ transformers\.js WebGPU \(same work/);
  if (profile) assert.match(text, /Where ours' WebGPU time goes[^\n]*\n\n\| stage \| n=8 \|\n\|---\|---:\|\n\| embeddings \| [\d.]+ \(\d+ %\) `embeddings` \|/);
  assert.doesNotMatch(text, /\nold\n/);
  assert.match(text, /<!-- browser-table:end -->\nafter\n$/);
});
