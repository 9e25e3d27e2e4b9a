// bench/wasm-ops/run: the CPU path's ops built for wasm and timed in Node's V8 (issue 15 item 3).
// One round at the small shape, n = 8: every op and product row is there with a finite, positive
// time for both kernels, so the tool the bench README's breakdown comes from keeps working.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { root } from './helpers.mjs';

test('bench/wasm-ops/run: both kernels, every op, small shape, n = 8', { timeout: 600_000 }, () => {
  const out = execFileSync(join(root, 'bench/wasm-ops/run'), ['--shape', 'small', '--n', '8', '--rounds', '1'], { cwd: root, encoding: 'utf8' });
  const rows = out.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| op ') && !l.startsWith('| n ×'));
  const ops = ['q, k, v', 'attention probs', 'attention context', 'dense', 'FFN', 'gelu_new', 'FFN output', '**all**'];
  for (const op of ops) assert.ok(rows.some((r) => r.startsWith(`| ${op} |`)), `no row for ${op} in:\n${out}`);
  assert.equal(rows.filter((r) => /^\| 8 × \d+ × \d+ \|/.test(r)).length, 3, out);
  for (const r of rows) {
    const cells = r.split('|').slice(2, 4).map((c) => parseFloat(c));
    assert.equal(cells.length, 2, r);
    for (const c of cells) assert.ok(Number.isFinite(c) && c > 0, `${r}\n${out}`);
  }
});
