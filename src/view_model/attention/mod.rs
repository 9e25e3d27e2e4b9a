//! Everything the attention views compute, free of browser types and natively tested: the data
//! of one forward (`data`) and of one map in it (`layer`), attention rollout (`rollout`), colour
//! scales (`colour`), the views' geometry and keyboard movement (`geometry`), and what they print
//! (`labels`). The Leptos components that draw them live in `ui::attention` (browser only).

pub mod colour;
pub mod data;
pub mod geometry;
pub mod labels;
pub mod layer;
pub mod markup;
pub mod request;
pub mod rollout;

/// Data for the tests of every submodule.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::{data::AttentionData, layer::LayerAttention};

    /// A row-stochastic pseudo-random `heads × t × t` tensor.
    pub fn random_layer(index: usize, heads: usize, t: usize, seed: u64) -> LayerAttention {
        let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let mut next = || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 33) as f32 / (1u64 << 31) as f32).powi(3) + 1e-4
        };
        let mut data = vec![0.0f32; heads * t * t];
        for row in data.chunks_mut(t) {
            row.iter_mut().for_each(|v| *v = next());
            let sum: f32 = row.iter().sum();
            row.iter_mut().for_each(|v| *v /= sum);
        }
        LayerAttention { index, layer: index / 2, group: index / 4, inner: index % 2, heads, data, ..Default::default() }
    }

    /// `layers` maps of 2 inner layers a group, masks at 1 and `tokens - 2`.
    pub fn data(tokens: usize, heads: usize, layers: usize) -> AttentionData {
        AttentionData {
            tokens: (0..tokens).map(|i| format!("t{i}")).collect(),
            mask_positions: vec![1, tokens - 2],
            layers: (0..layers).map(|i| random_layer(i, heads, tokens, i as u64 + 7)).collect(),
            thumb_side: 0,
        }
    }

    pub const EPS: f32 = 1e-5;

    pub fn close(a: &[f32], b: &[f32]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < EPS)
    }
}
