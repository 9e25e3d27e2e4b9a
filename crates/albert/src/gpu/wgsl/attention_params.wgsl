// Parameters shared by the attention kernels (attention_probs, attention_context, attention).
// q, k and v are column blocks of one buffer of row stride `stride` (the fused [B·T, 3H]
// query-key-value projection: offsets 0, H, 2H) or separate [B·T, H] buffers (stride H,
// offsets 0); the context is written as [B·T, hidden], heads concatenated.

// Scores of masked keys before the softmax (below every real score, finite).
const NEG: f32 = -3.0e38;

// The query row and head one workgroup of attention_probs / attention handles (grid
// [T, B·heads]), with the offsets both kernels need. `p` is each kernel's uniform binding.
struct AttentionRow { i: u32, bh: u32, b: u32, hd: u32, t: u32, q: u32, mask0: u32 }

fn attention_row(wg: vec3<u32>) -> AttentionRow {
    let b = wg.y / p.heads;
    let hd = wg.y % p.heads;
    let t = p.seq_len;
    return AttentionRow(wg.x, wg.y, b, hd, t, (b * t + wg.x) * p.stride + p.q_off + hd * p.head_dim, 2u * p.rows + b * t);
}

// Where key j's slice for this row's head starts.
fn key_at(r: AttentionRow, j: u32) -> u32 {
    return (r.b * r.t + j) * p.stride + p.k_off + r.hd * p.head_dim;
}
