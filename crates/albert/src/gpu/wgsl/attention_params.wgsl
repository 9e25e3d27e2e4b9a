// Parameters shared by the attention kernels (attention_probs, attention_context, attention).
// q, k and v are column blocks of one buffer of row stride `stride` (the fused [B·T, 3H]
// query-key-value projection: offsets 0, H, 2H) or separate [B·T, H] buffers (stride H,
// offsets 0); the context is written as [B·T, hidden], heads concatenated.

struct AttentionParams {
    batch: u32, seq_len: u32, heads: u32, head_dim: u32,
    stride: u32, scale: f32, rows: u32, hidden: u32,
    q_off: u32, k_off: u32, v_off: u32, _pad: u32,
}

// Scores of masked keys before the softmax (below every real score, finite).
const NEG: f32 = -3.0e38;
