// The tiny fixture (V 1000, 3 layers × 4 heads of 8) as the page tests use it: the app opened on
// it, and how many bytes a forward of the page reads back of it.
import { join } from 'node:path';
import { appUrl, fixtures, launch } from './helpers.mjs';

export const TINY = join(fixtures, 'tiny');

/**
 * Bytes the page's forward returns on the tiny fixture (V 1000, 3 layers × 4 heads of 8) at n
 * tokens, all f32: one [MASK] row of logits, the lens (h_0..h_3: 4 × V), the drift (2 per layer),
 * the neuron view's q and k (2 × n × 8) and, with `maps`, every attention map (3 × 4 × n²).
 */
export function tinyPageBytes(n, { maps = true } = {}) {
  return 4 * (1000 + 4 * 1000 + 2 * 3 + 2 * n * 8 + (maps ? 3 * 4 * n * n : 0));
}

/**
 * Floats the page reads back of the maps of a tiny-shaped model (3 maps × 4 heads) at n tokens
 * with `whole` maps whole (src/view_model/attention/request.rs): every map (`all`), or those
 * maps, every map's mean and every head's thumbnail of at most 64 cells a side (`views`); the
 * page takes the fewer.
 */
export function tinyMapFloats(n, whole) {
  const side = Math.ceil(n / Math.ceil(n / 64));
  const all = 3 * 4 * n * n;
  const views = whole * 4 * n * n + 3 * n * n + 3 * 4 * side * side;
  return { all, views, side, read: Math.min(all, views) };
}

/** Opens the app on the tiny fixture served by `s` (startServers); `opts` go to launch. */
export async function openTiny(t, s, { params = {}, ...opts } = {}) {
  const ctx = await launch(t, opts);
  await ctx.page.goto(appUrl(s.app, { model: s.modelUrl('tiny'), ...params }));
  return ctx;
}
