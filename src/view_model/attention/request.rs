//! What a forward of the sentence asks of the attention maps (issue 13 item 3, "pay for what is
//! shown"): the maps the head view and the heatmap show whole, every map's mean over heads (the
//! rollout, the heatmap's mean) and every head as a thumbnail (the model view), reduced on the
//! GPU, or every map whole when that is fewer bytes (short inputs: a thumbnail of a map of at
//! most `THUMBNAIL` tokens is the map itself). A reader who picks another layer gets a forward
//! that reads it ([`needs_forward`]).

use super::{data::AttentionData, layer::HeadSel};

/// Cells a side of the model view's thumbnails (shown 56 CSS px wide): longer maps are
/// max-pooled to it, on the GPU or in `AttentionData::thumbnail`.
pub const THUMBNAIL: usize = 64;

/// What to ask of `calls` maps of `heads` heads over `t` tokens for the head view's map and the
/// heatmap's (map, head): `(every map whole, or these views)`.
pub fn map_request(head_view: usize, heat: (usize, HeadSel), calls: usize, heads: usize, t: usize) -> (bool, albert::MapViews) {
    if calls == 0 {
        return (false, albert::MapViews::default());
    }
    let last = calls - 1;
    let mut whole = vec![head_view.min(last)];
    if let (l, HeadSel::Head(_)) = heat {
        whole.push(l.min(last));
    }
    whole.sort_unstable();
    whole.dedup();
    let side = albert::output::pooled_side(t, THUMBNAIL).1;
    let all = calls * heads * t * t;
    let views = whole.len() * heads * t * t + calls * t * t + calls * heads * side * side;
    if all <= views {
        (true, albert::MapViews::default())
    } else {
        (false, albert::MapViews { whole, head_means: true, thumbnails: Some(THUMBNAIL) })
    }
}

/// The shown forward lacks a map a view now shows whole (the reader picked another layer, or a
/// head of a map it has only the mean of): the sentence must run again.
pub fn needs_forward(d: &AttentionData, head_view: usize, heat: (usize, HeadSel)) -> bool {
    let last = d.num_layers().saturating_sub(1);
    let missing = |i: usize| d.whole(i.min(last)).is_none();
    d.num_layers() > 0 && (missing(head_view) || matches!(heat, (l, HeadSel::Head(_)) if missing(l)))
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::data;
    use super::*;

    #[test]
    fn long_inputs_ask_for_the_views_short_ones_for_every_map() {
        // albert-base at 128 tokens: two maps whole, 12 means, 12 × 12 thumbnails of 64 a side.
        let (all, v) = map_request(3, (7, HeadSel::Head(2)), 12, 12, 128);
        assert!(!all);
        assert_eq!(v, albert::MapViews { whole: vec![3, 7], head_means: true, thumbnails: Some(THUMBNAIL) });
        // The same map for both, and the heatmap's mean: one map whole; layers past the end clamp.
        assert_eq!(map_request(5, (5, HeadSel::Head(0)), 12, 12, 128).1.whole, vec![5]);
        assert_eq!(map_request(40, (2, HeadSel::Mean), 12, 12, 128).1.whole, vec![11]);
        // At 64 tokens a thumbnail is the map: every map whole is fewer bytes.
        assert_eq!(map_request(0, (0, HeadSel::Mean), 12, 12, 64), (true, albert::MapViews::default()));
        // At 512 tokens: 2 + 12 maps' worth of T² and 144 thumbnails, not 144 maps.
        let (all, v) = map_request(0, (1, HeadSel::Head(0)), 12, 12, 512);
        assert!(!all && v.whole == vec![0, 1]);
        assert_eq!(map_request(0, (0, HeadSel::Mean), 0, 12, 128), (false, albert::MapViews::default()));
    }

    #[test]
    fn a_view_without_its_whole_map_asks_for_a_forward() {
        let mut d = data(5, 2, 4);
        assert!(!needs_forward(&d, 3, (1, HeadSel::Head(0))), "every map whole");
        for (i, l) in d.layers.iter_mut().enumerate() {
            l.mean = l.mean_heads();
            if i < 2 {
                l.data.clear();
            }
        }
        assert!(!needs_forward(&d, 2, (0, HeadSel::Mean)), "the mean needs no whole map");
        assert!(!needs_forward(&d, 9, (2, HeadSel::Head(1))), "map 9 is the last, 3, which is whole, as is 2");
        assert!(needs_forward(&d, 0, (2, HeadSel::Head(1))), "the head view's map 0");
        assert!(needs_forward(&d, 2, (1, HeadSel::Head(1))), "the heatmap's head of map 1");
        assert!(!needs_forward(&crate::view_model::attention::data::AttentionData::default(), 0, (0, HeadSel::Mean)));
    }
}
