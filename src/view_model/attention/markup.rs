//! Long static lists as one HTML string. A list rebuilt with every sentence (the head view's
//! 2 × 128 tokens at 128 tokens) cost a DOM call per attribute and per string when built node by
//! node: 40–60 ms a result on a 2-core machine (issue 13 item 2). Set as `innerHTML` it is one
//! call; the view handles events by delegation and updates the few changing attributes itself.

// The exports' escaping (XML's, which HTML reads the same): markup characters escaped, control
// characters dropped.
use crate::view_model::export::svg::escape;

/// The head view's column of tokens as `<li role="option">`s, ids `hv-{tag}-{i}` (the listbox's
/// `aria-activedescendant` names one); masks get the `mask` class, `active` the `active` class
/// and `aria-selected`, and `shade` each token's `--w`. `label(i)` is what a token shows, and
/// `title(i)` its tooltip.
pub fn token_items(n: usize, tag: &str, masks: &[usize], active: Option<usize>, shade: &[f32], label: impl Fn(usize) -> String, title: impl Fn(usize) -> String) -> String {
    let mut out = String::with_capacity(n * 96);
    for i in 0..n {
        let mask = if masks.contains(&i) { " mask" } else { "" };
        let (act, selected) = if active == Some(i) { (" active", r#" aria-selected="true""#) } else { ("", "") };
        let style = shade.get(i).map(|w| format!(r#" style="--w:{:.3}""#, w.min(1.0))).unwrap_or_default();
        out.push_str(&format!(
            r#"<li id="hv-{tag}-{i}" role="option" class="hv-tok{mask}{act}"{selected}{style} title="{}">{}</li>"#,
            escape(&title(i)),
            escape(&label(i))
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_attributes_cannot_break_out() {
        assert_eq!(escape(r#"<b a="x" b='y'>&</b>"#), "&lt;b a=&quot;x&quot; b=&apos;y&apos;&gt;&amp;&lt;/b&gt;");
        assert_eq!(escape("▁the"), "▁the");
    }

    #[test]
    fn token_items_mark_masks_focus_and_shade() {
        let toks = ["[CLS]", "<a>", "[MASK]"];
        let html = token_items(3, "q", &[2], Some(1), &[0.5, 2.0, 0.0], |i| toks[i].to_string(), |i| format!("{} (position {i})", toks[i]));
        assert_eq!(
            html,
            concat!(
                r#"<li id="hv-q-0" role="option" class="hv-tok" style="--w:0.500" title="[CLS] (position 0)">[CLS]</li>"#,
                r#"<li id="hv-q-1" role="option" class="hv-tok active" aria-selected="true" style="--w:1.000" title="&lt;a&gt; (position 1)">&lt;a&gt;</li>"#,
                r#"<li id="hv-q-2" role="option" class="hv-tok mask" style="--w:0.000" title="[MASK] (position 2)">[MASK]</li>"#,
            )
        );
        // No focus: no shade, nothing selected.
        assert!(!token_items(3, "k", &[], None, &[], |i| toks[i].to_string(), |_| String::new()).contains("style"));
    }
}
