// AlbertEmbeddings: word + position + token-type rows summed, then LayerNorm, one workgroup
// per token. `tokens` packs [ids | type ids | mask] of the batch (three N-long runs) so the
// kernel stays within WebGPU's default of 8 storage buffers.

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> tokens: array<u32>;
@group(0) @binding(7) var<storage, read_write> out: array<f32>;
#if F16
@group(0) @binding(2) var<storage, read> word: array<u32>;
@group(0) @binding(3) var<storage, read> pos: array<u32>;
@group(0) @binding(4) var<storage, read> ttype: array<u32>;
@group(0) @binding(5) var<storage, read> ln_w: array<u32>;
@group(0) @binding(6) var<storage, read> ln_b: array<u32>;
fn load_word(i: u32) -> f32 { return half_at(word[i >> 1u], i); }
fn load_pos(i: u32) -> f32 { return half_at(pos[i >> 1u], i); }
fn load_type(i: u32) -> f32 { return half_at(ttype[i >> 1u], i); }
fn load_ln_w(i: u32) -> f32 { return half_at(ln_w[i >> 1u], i); }
fn load_ln_b(i: u32) -> f32 { return half_at(ln_b[i >> 1u], i); }
#else
@group(0) @binding(2) var<storage, read> word: array<f32>;
@group(0) @binding(3) var<storage, read> pos: array<f32>;
@group(0) @binding(4) var<storage, read> ttype: array<f32>;
@group(0) @binding(5) var<storage, read> ln_w: array<f32>;
@group(0) @binding(6) var<storage, read> ln_b: array<f32>;
fn load_word(i: u32) -> f32 { return word[i]; }
fn load_pos(i: u32) -> f32 { return pos[i]; }
fn load_type(i: u32) -> f32 { return ttype[i]; }
fn load_ln_w(i: u32) -> f32 { return ln_w[i]; }
fn load_ln_b(i: u32) -> f32 { return ln_b[i]; }
#endif


@compute @workgroup_size(128, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let r = wg.x + wg.y * 65535u;
    if (r >= p.rows) { return; } // uniform per workgroup, so barriers stay uniform
    let id = tokens[r];
    let ty = tokens[p.rows + r];
    let t = r % p.seq_len;
    var s = 0.0;
    for (var j = li; j < p.e; j += WG) {
        let v = load_word(id * p.e + j) + load_type(ty * p.e + j) + load_pos(t * p.e + j);
        out[r * p.e + j] = v;
        s += v;
    }
    let mean = reduce_sum(s, li) / f32(p.e);
    var q = 0.0;
    for (var j = li; j < p.e; j += WG) {
        let d = out[r * p.e + j] - mean;
        q += d * d;
    }
    let inv = inverseSqrt(reduce_sum(q, li) / f32(p.e) + p.eps);
    for (var j = li; j < p.e; j += WG) {
        out[r * p.e + j] = (out[r * p.e + j] - mean) * inv * load_ln_w(j) + load_ln_b(j);
    }
}
