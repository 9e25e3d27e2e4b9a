// A head switched off: its context vector (columns head·head_dim .. +head_dim of every row) is
// zeroed before attention.dense, in this layer application only.

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> ctx: array<f32>;

@compute @workgroup_size(WG, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let c = gid.x;
    let r = gid.y + gid.z * 65535u;
    if (c >= p.head_dim || r >= p.rows) { return; }
    ctx[r * p.hidden + p.head * p.head_dim + c] = 0.0;
}
