// Fused self-attention for real GPUs (`Tuning::Gpu`, head_dim ≤ TILE_D): the arithmetic of
// attention.wgsl (scores, scale, padding mask, softmax normalized before it multiplies v), with
// keys and values staged through workgroup memory in tiles of KEYS rows.
//
// attention.wgsl has each thread read whole key rows from global memory, 32 threads 32 rows
// apart: on an NVIDIA H200 (bench/on-nvidia) a 512-token forward spent 18.8 of its 33 ms there.
// Here a tile is read once, coalesced, and serves the workgroup's ROWS query rows; a score's
// dot product is split between two threads (half of the head dimension each).
//
// A workgroup: ROWS query rows of one head, 32 threads a row. Workgroup memory: ROWS · MAX_T
// scores, one KEYS × (TILE_D + 1) tile (padded so a column walk does not hit one bank), the
// query rows and two reduction buffers: 14.4 KiB, within WebGPU's 16 KiB.

@group(0) @binding(0) var<uniform> p: AttentionParams;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read> tokens: array<u32>; // [ids | types | mask]
@group(0) @binding(3) var<storage, read_write> ctx: array<f32>;

const LANES: u32 = 32u;      // threads per row
const WG: u32 = ROWS * LANES; // 128
const KEYS: u32 = LANES / 2u; // key rows a tile: a row's 32 threads are 16 keys × 2 halves
const KS: u32 = TILE_D + 1u; // tile row stride

var<workgroup> s: array<f32, ROWS * MAX_T>;
var<workgroup> tile: array<f32, KEYS * KS>;
var<workgroup> qs: array<f32, ROWS * TILE_D>;
var<workgroup> red_max: array<f32, WG>;
var<workgroup> red_sum: array<f32, WG>;

@compute @workgroup_size(128, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let rr = li / LANES;
    let lane = li % LANES;
    let i = wg.x * ROWS + rr;
    // Rows past T (the last workgroup) compute on the last row but write nothing; every thread
    // reaches every barrier.
    let live = i < p.seq_len;
    let r = attention_row(vec3<u32>(min(i, p.seq_len - 1u), wg.y, 0u));
    let t = r.t;
    let d = p.head_dim;
    let sr = rr * MAX_T;
    let base = rr * LANES;
    // Scores: thread (row, lane) takes key lane % KEYS of each tile and half lane / KEYS of d.
    let kk = lane % KEYS;
    let half = lane / KEYS;
    let c_lo = select(0u, (d + 1u) / 2u, half == 1u);
    let c_hi = select((d + 1u) / 2u, d, half == 1u);

    for (var c = lane; c < d; c += LANES) { qs[rr * TILE_D + c] = qkv[r.q + c]; }

    var m = NEG;
    for (var j0 = 0u; j0 < t; j0 += KEYS) {
        for (var e = li; e < KEYS * d; e += WG) {
            let key = e / d;
            let c = e % d;
            var v = 0.0;
            if (j0 + key < t) { v = qkv[key_at(r, j0 + key) + c]; }
            tile[key * KS + c] = v;
        }
        workgroupBarrier();
        var dot = 0.0;
        for (var c = c_lo; c < c_hi; c++) { dot = fma(qs[rr * TILE_D + c], tile[kk * KS + c], dot); }
        red_sum[li] = dot;
        workgroupBarrier();
        let j = j0 + kk;
        if (half == 0u && j < t) {
            var sc = NEG;
            if (tokens[r.mask0 + j] != 0u) { sc = (dot + red_sum[li + KEYS]) * p.scale; }
            s[sr + j] = sc;
            m = max(m, sc);
        }
        // No barrier here: the next tile's load writes `tile`, read before the barrier above, and
        // `red_sum` is written again only after the next load's barrier, which every thread
        // reaches after these reads.
    }
    red_max[li] = m;
    workgroupBarrier();
    m = red_max[base];
    for (var l = 1u; l < LANES; l++) { m = max(m, red_max[base + l]); }

    var sum = 0.0;
    for (var j = lane; j < t; j += LANES) {
        var e = 0.0;
        if (m <= NEG) { e = 1.0; } else if (tokens[r.mask0 + j] != 0u) { e = exp(s[sr + j] - m); }
        s[sr + j] = e;
        sum += e;
    }
    red_sum[li] = sum;
    workgroupBarrier();
    sum = red_sum[base];
    for (var l = 1u; l < LANES; l++) { sum += red_sum[base + l]; }
    for (var j = lane; j < t; j += LANES) {
        s[sr + j] = s[sr + j] / sum;
    }

    // probs · v, a tile of value rows at a time: thread (row, lane) owns columns lane and
    // lane + 32 (d ≤ TILE_D = 64; columns past d hold stale values and are never written out).
    var acc0 = 0.0;
    var acc1 = 0.0;
    let v_base = r.b * t * p.stride + p.v_off + r.hd * d;
    for (var j0 = 0u; j0 < t; j0 += KEYS) {
        workgroupBarrier(); // the row's probabilities are final; the previous tile is read
        for (var e = li; e < KEYS * d; e += WG) {
            let key = e / d;
            let c = e % d;
            var v = 0.0;
            if (j0 + key < t) { v = qkv[v_base + (j0 + key) * p.stride + c]; }
            tile[key * KS + c] = v;
        }
        workgroupBarrier();
        let n = min(KEYS, t - j0);
        for (var j = 0u; j < n; j++) {
            let pj = s[sr + j0 + j];
            acc0 = fma(pj, tile[j * KS + lane], acc0);
            acc1 = fma(pj, tile[j * KS + lane + LANES], acc1);
        }
    }
    if (live) {
        let out = (r.b * t + r.i) * p.hidden + r.hd * d;
        if (lane < d) { ctx[out + lane] = acc0; }
        if (lane + LANES < d) { ctx[out + lane + LANES] = acc1; }
    }
}
