// Fused self-attention with an online softmax (FlashAttention's order), for real GPUs
// (`Tuning::Gpu`; heads up to TILE_D wide): keys and values pass through workgroup memory in
// 16-row tiles, each read once, coalesced, for the workgroup's FR query rows, and each tile
// updates a running maximum, a running sum and the context accumulators, so no row of T scores
// is kept. On an NVIDIA H200 (bench/on-nvidia) attention.wgsl, whose threads each read whole key
// rows 32 rows apart, took 18.8 of a 512-token forward's 33 ms; a first tiled version that kept
// its 4 rows' scores, 11.2 of 20.3 ms; this one 5.6 of 14.8 ms.
//
// The result equals softmax(q·kᵀ·scale + mask)·v up to rounding: masked keys weigh exp(NEG − m)
// = 0 once any key is real; a row whose keys are all masked weighs each equally, as torch does.
//
// A workgroup: FR = 8 query rows of one head, 16 threads a row; a thread scores one key of
// each 16-key tile and owns context columns sub, sub + 16, sub + 32, sub + 48.

@group(0) @binding(0) var<uniform> p: AttentionParams;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read> tokens: array<u32>; // [ids | types | mask]
@group(0) @binding(3) var<storage, read_write> ctx: array<f32>;

const SUBS: u32 = 16u;       // threads a row
const KEYS: u32 = 16u;       // keys a tile (one per thread of a row)
const WG: u32 = FR * SUBS;   // 128 (FR, the rows a workgroup, comes from gpu::kernels)
const KS: u32 = TILE_D + 1u; // tile row stride

var<workgroup> qs: array<f32, FR * TILE_D>;
var<workgroup> kt: array<f32, KEYS * KS>;
var<workgroup> vt: array<f32, KEYS * KS>;
var<workgroup> sc: array<f32, FR * KEYS>;

@compute @workgroup_size(128, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let rr = li / SUBS;
    let sub = li % SUBS;
    let i = wg.x * FR + rr;
    let live = i < p.seq_len;
    let r = attention_row(vec3<u32>(min(i, p.seq_len - 1u), wg.y, 0u));
    // From the uniform, not r.t (the same number): the key loop holds barriers, and browsers'
    // uniformity analysis sees r as depending on the thread's row.
    let t = p.seq_len;
    let d = p.head_dim;
    let v_base = r.b * t * p.stride + p.v_off + r.hd * d;

    for (var c = sub; c < d; c += SUBS) { qs[rr * TILE_D + c] = qkv[r.q + c]; }

    var m = NEG;
    var l = 0.0;
    var acc = vec4<f32>(0.0);
    for (var j0 = 0u; j0 < t; j0 += KEYS) {
        workgroupBarrier(); // the previous tile is read (and the queries written, the first time)
        for (var e = li; e < KEYS * d; e += WG) {
            let key = e / d;
            let c = e % d;
            var kv = 0.0;
            var vv = 0.0;
            if (j0 + key < t) {
                kv = qkv[key_at(r, j0 + key) + c];
                vv = qkv[v_base + (j0 + key) * p.stride + c];
            }
            kt[key * KS + c] = kv;
            vt[key * KS + c] = vv;
        }
        workgroupBarrier();
        let j = j0 + sub;
        var s = NEG;
        if (j < t && tokens[r.mask0 + j] != 0u) {
            var dot = 0.0;
            for (var c = 0u; c < d; c++) { dot = fma(qs[rr * TILE_D + c], kt[sub * KS + c], dot); }
            s = dot * p.scale;
        }
        sc[rr * KEYS + sub] = s;
        workgroupBarrier();

        let n = min(KEYS, t - j0);
        var tmax = NEG;
        for (var k = 0u; k < n; k++) { tmax = max(tmax, sc[rr * KEYS + k]); }
        let m_new = max(m, tmax);
        let alpha = exp(m - m_new);
        var tile_sum = 0.0;
        var tile_acc = vec4<f32>(0.0);
        for (var k = 0u; k < n; k++) {
            let pk = exp(sc[rr * KEYS + k] - m_new);
            tile_sum += pk;
            let vrow = k * KS + sub;
            tile_acc = fma(vec4<f32>(pk), vec4<f32>(vt[vrow], vt[vrow + 16u], vt[vrow + 32u], vt[vrow + 48u]), tile_acc);
        }
        l = l * alpha + tile_sum;
        acc = acc * alpha + tile_acc;
        m = m_new;
    }
    if (live) {
        let out = (r.b * t + r.i) * p.hidden + r.hd * d;
        for (var q = 0u; q < 4u; q++) {
            let c = sub + SUBS * q;
            if (c < d) { ctx[out + c] = acc[q] / l; }
        }
    }
}
