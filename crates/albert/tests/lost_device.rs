//! A lost GPU device (the app's "lost device" path): a forward on it fails with an error that
//! says the device was lost (no panic, no hang), and a new device with the weights uploaded
//! again from the same files answers exactly as before. The device here is this binary's own,
//! so destroying it cannot disturb other tests.

mod common;

use albert::gpu::Gpu;
use albert::{FillMask, FillOptions, ModelFiles};
use common::fixture;

const TEXT: &str = "the cat sat on the [MASK].";

#[test]
fn a_destroyed_device_is_reported_and_a_new_one_answers_the_same() {
    if common::gpu().is_none() {
        return;
    }
    let files = ModelFiles::from_dir(fixture("groups")).unwrap();
    let opts = FillOptions { top_k: 5, ..Default::default() };
    let gpu = pollster::block_on(Gpu::new()).unwrap();
    let mut fm = pollster::block_on(FillMask::new(&files, Some(&gpu))).unwrap();
    let before = pollster::block_on(fm.fill(TEXT, &opts)).unwrap();
    assert_eq!(fm.backend.gpu_lost(), None);

    gpu.device.destroy();
    let _ = gpu.device.poll(wgpu::PollType::Poll);
    let e = pollster::block_on(fm.fill(TEXT, &opts)).expect_err("a forward on a destroyed device must fail").to_string();
    let reason = fm.backend.gpu_lost().expect("the device reports why it was lost");
    eprintln!("after destroy(): {e} (reason {reason})");
    assert!(e.contains("the GPU device was lost"), "{e}");

    drop(fm);
    let fresh = pollster::block_on(Gpu::new()).unwrap();
    let mut again = pollster::block_on(FillMask::new(&files, Some(&fresh))).unwrap();
    let after = pollster::block_on(again.fill(TEXT, &opts)).unwrap();
    let ids = |r: &albert::FillResult| r.masks.iter().flat_map(|m| m.top_k.iter().map(|p| p.id)).collect::<Vec<_>>();
    assert_eq!(ids(&after), ids(&before), "the rebuilt model answers as before");
}
