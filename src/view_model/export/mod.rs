//! Exports, built from the data and never scraped from the page, so they are natively tested:
//! every view as a standalone SVG document with a title line (model, sentence, layer, head) that
//! the browser also rasterises to PNG at 2×, the forward as JSON in the CLI's `albert fill
//! --json [--attentions]` schema, and the predictions as CSV. `ui::export` turns them into
//! downloads.
//!
//! - `svg`: the document frame (size, background, title line), XML escaping, the viridis legend.
//! - `png`: a minimal PNG encoder for matrices embedded in SVGs (model view, large heatmaps).
//! - `attention`: heatmap, head view, model view and rollout figures.
//! - `inside`: logit lens, drift and head-switch figures; `neuron`: the neuron view's figure.
//! - `compare`: the side-by-side card's A − B attention heatmap.
//! - `predictions`: the fill-mask card's top-k bars; `tables`: predictions CSV and JSON,
//!   attentions JSON.

pub mod attention;
pub mod compare;
pub mod inside;
pub mod neuron;
pub mod png;
pub mod predictions;
pub mod svg;
pub mod tables;

/// A file to download: its name, MIME type and contents.
#[derive(Clone, Debug, PartialEq)]
pub struct FileOut {
    pub name: String,
    pub mime: &'static str,
    pub body: String,
}

/// A standalone SVG of one view; the PNG is drawn from it at `PNG_SCALE` × its size.
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    /// File name without extension: `albert-lens-heatmap-2-mean`.
    pub stem: String,
    pub svg: String,
    /// CSS pixels (the SVG's `width` / `height`).
    pub width: u32,
    pub height: u32,
}

/// How much sharper the PNG is than the SVG's CSS size (a 2× display's pixels).
pub const PNG_SCALE: u32 = 2;

impl Figure {
    pub fn svg_file(&self) -> FileOut {
        FileOut { name: format!("{}.svg", self.stem), mime: "image/svg+xml", body: self.svg.clone() }
    }

    pub fn png_name(&self) -> String {
        format!("{}.png", self.stem)
    }
}

/// What the title line says: the model, the sentence, and which layer and head the view shows.
#[derive(Clone, Debug, PartialEq)]
pub struct Caption {
    pub model: String,
    pub sentence: String,
    /// `"layer 2 · block 0"`, `"all layers"`, …
    pub layer: String,
    /// `"head 1"`, `"mean of heads"`, `"heads 0, 2"`, …
    pub head: String,
}

impl Caption {
    /// `model · “sentence” · layer · head`.
    pub fn line(&self) -> String {
        format!("{} · “{}” · {} · {}", self.model, self.sentence, self.layer, self.head)
    }

    /// The same caption for another layer and head.
    pub fn with(&self, layer: impl Into<String>, head: impl Into<String>) -> Caption {
        Caption { layer: layer.into(), head: head.into(), ..self.clone() }
    }
}

/// `albert-lens-<view>-<layer>-<head>`, each part kept to `[A-Za-z0-9._-]` so any browser and
/// file system takes it (a part that is empty after that is dropped).
pub fn file_stem(parts: &[&str]) -> String {
    let mut out = String::from("albert-lens");
    for p in parts {
        let clean: String = p
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-' { c } else { '-' })
            .collect();
        let clean = clean.trim_matches(|c| c == '-' || c == '.');
        if !clean.is_empty() {
            out.push('-');
            out.push_str(clean);
        }
    }
    out
}

/// A map's number in file names and titles, as the app labels layers: `3`, or `3.1` when groups
/// hold several inner layers.
pub fn layer_number(application: usize, inner: usize, inner_group_num: usize) -> String {
    if inner_group_num > 1 {
        format!("{}.{inner}", application + 1)
    } else {
        (application + 1).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_keep_to_safe_characters() {
        assert_eq!(file_stem(&["heatmap", "2", "mean"]), "albert-lens-heatmap-2-mean");
        assert_eq!(file_stem(&["heatmap", "3.1", "0"]), "albert-lens-heatmap-3.1-0");
        assert_eq!(file_stem(&["a/b\\c", "", "../x y"]), "albert-lens-a-b-c-x-y");
        let f = Figure { stem: file_stem(&["drift"]), svg: "<svg/>".into(), width: 1, height: 1 };
        assert_eq!(f.svg_file().name, "albert-lens-drift.svg");
        assert_eq!(f.svg_file().mime, "image/svg+xml");
        assert_eq!(f.png_name(), "albert-lens-drift.png");
    }

    #[test]
    fn caption_line_names_model_sentence_layer_and_head() {
        let c = Caption { model: "tiny".into(), sentence: "the [MASK] sat.".into(), layer: "layer 2 · block 0".into(), head: "head 1".into() };
        assert_eq!(c.line(), "tiny · “the [MASK] sat.” · layer 2 · block 0 · head 1");
        assert_eq!(c.with("all layers", "all heads").line(), "tiny · “the [MASK] sat.” · all layers · all heads");
        assert_eq!(layer_number(2, 0, 1), "3");
        assert_eq!(layer_number(2, 1, 2), "3.1");
    }
}
