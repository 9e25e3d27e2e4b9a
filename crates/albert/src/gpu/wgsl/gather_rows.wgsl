// out[dst_row + r] = x[rows[r]]: picks the [MASK] rows (or [CLS] rows) before the MLM / SOP heads so the
// E×V decoder runs only where logits are wanted.

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> rows: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let c = gid.x;
    let r = gid.y;
    if (c >= p.width || r >= p.n_rows) { return; }
    out[(p.dst_row + r) * p.width + c] = x[rows[r] * p.width + c];
}
