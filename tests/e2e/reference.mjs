// The `albert` CLI as the reference for the page's predictions: the binary (fresh or refused),
// its answers (cached per run), and the rank-by-rank comparison with what the page shows.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { root } from './paths.mjs';

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

/** Any `albert` subcommand with `--json --device cpu` (cached): e.g. `['fill', '--model', dir, '--lens']`. */
export function cliJson(args) {
  const key = JSON.stringify(args);
  if (!cliCache.has(key)) {
    const out = execFileSync(albertCli(), [...args, '--device', 'cpu', '--json'], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 28 });
    cliCache.set(key, JSON.parse(out));
  }
  return cliCache.get(key);
}
