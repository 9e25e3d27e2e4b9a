//! `albert soak` (a short run of bench/soak): after warm-up, forwards as the app runs them
//! (attentions, lens, drift, three text lengths) create no GPU buffers, keep the number alive
//! constant and leave the resident set flat, on the CPU and the GPU.

mod common;

use common::*;

#[test]
fn soak_is_flat_after_warm_up() {
    let model = fixture_str("tiny");
    for device in devices() {
        let v = albert(&["soak", "--model", &model, "--device", device, "--n", "240", "--warmup", "30", "--every", "60", "--json"]).json();
        let rss = v["rss_growth_mb"].as_f64();
        let created = v["buffers_created_after_warmup"].as_u64().unwrap_or(u64::MAX);
        let live = v["live_buffer_growth"].as_i64();
        eprintln!("soak {device}: RSS growth {rss:?} MB, buffers created {created}, live growth {live:?}");
        assert_eq!(v["samples"].as_array().map(Vec::len), Some(4), "{device}: a sample every 60 forwards");
        if device == "gpu" {
            assert_eq!(created, 0, "gpu: forwards after warm-up must reuse their plans' buffers");
            assert_eq!(live, Some(0), "gpu: buffers alive must not grow");
        }
        // A leak of one hidden-state copy a forward on this model is 210 forwards × ~2 KB; allow
        // allocator noise, not growth.
        if let Some(g) = rss {
            assert!(g < 2.0, "{device}: RSS grew {g:.2} MB over 210 forwards");
        } else {
            eprintln!("SKIPPED: {device}: no /proc/self/status here, RSS not checked");
        }
    }
}
