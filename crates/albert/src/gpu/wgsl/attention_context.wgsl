// context = probs · v per head, heads concatenated back to [B·T, H] (transformers' permute +
// view), one thread per output element. Only used when the caller asks for the attention
// maps; otherwise attention.wgsl does scores, softmax and context in one dispatch.

@group(0) @binding(0) var<uniform> p: AttentionParams;
@group(0) @binding(1) var<storage, read> probs: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read_write> ctx: array<f32>;

@compute @workgroup_size(WG, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>) {
    let col = gid.x;              // 0..hidden
    let row = wg.y + wg.z * 65535u; // b * T + i
    let t = p.seq_len;
    if (col >= p.hidden || row >= p.batch * t) { return; }
    let b = row / t;
    let i = row % t;
    let hd = col / p.head_dim;
    let pr = ((b * p.heads + hd) * t + i) * t;
    var acc = 0.0;
    for (var j = 0u; j < t; j++) {
        acc = fma(probs[pr + j], v[(b * t + j) * p.stride + p.v_off + col], acc);
    }
    ctx[row * p.hidden + col] = acc;
}
