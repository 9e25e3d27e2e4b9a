// Every head's T × T map reduced to side × side by the largest value of each block of
// `block` × `block` cells (the last blocks cut short), written at element `out_at` of `out`:
// the model view's thumbnails, read back instead of the maps. One thread an output cell; as
// cpu::ops::max_pool, NaN never wins a block and a block without a number reads 0 (the maps
// are probabilities, so no real value is at or below the lowest finite f32 start).

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> probs: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let j = gid.x;
    let i = gid.y;
    let map = gid.z;
    if (j >= p.side || i >= p.side || map >= p.maps) { return; }
    let base = map * p.t * p.t;
    var m = bitcast<f32>(0xff7fffffu); // the lowest finite f32 (Tint refuses the literal)
    var found = false;
    for (var r = i * p.block; r < min((i + 1u) * p.block, p.t); r++) {
        for (var c = j * p.block; c < min((j + 1u) * p.block, p.t); c++) {
            let v = probs[base + r * p.t + c];
            if (v > m) {
                m = v;
                found = true;
            }
        }
    }
    out[p.out_at + (map * p.side + i) * p.side + j] = select(0.0, m, found);
}
