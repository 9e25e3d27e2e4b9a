//! The frame every exported figure shares: a standalone SVG document (XML declaration, explicit
//! size, white background, fonts and colours inline: it is opened outside the page, without the
//! page's CSS) with the caption as its first line, plus the few drawing calls the figures use.

use std::fmt::Write;

use super::{Caption, Figure};
use crate::view_model::attention::colour::{rgb_hex, VIRIDIS};

/// Space around the content, in CSS px.
pub const PAD: f32 = 12.0;
/// Height of the title band: the sentence, the model, then the layer and head.
pub const TITLE_H: f32 = 56.0;
/// A figure is at least this wide, so the title line has room.
pub const MIN_WIDTH: f32 = 360.0;
/// Average advance of a 12 px sans-serif character, for fitting text (a little generous).
pub const CHAR_PX: f32 = 6.8;
/// The same for the bold title line.
pub const BOLD_CHAR_PX: f32 = 7.8;
pub const FONT: &str = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
pub const INK: &str = "#1f2328";
pub const MUTED: &str = "#59636e";
/// The figures' two data colours (Okabe–Ito blue and vermillion, as on the page) and the light
/// track under a bar.
pub const BLUE: &str = "#0072B2";
pub const VERMILLION: &str = "#D55E00";
pub const TRACK: &str = "#e6edf3";

/// Text for XML content and attribute values: markup characters escaped, and characters XML 1.0
/// does not allow (control characters a sentence or a vocabulary may hold) dropped, so any input
/// gives a document that parses.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(' '),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// `s` cut to `max` characters with an ellipsis (the page's own rule for token labels).
pub use crate::view_model::attention::labels::truncate_token as fit;

/// `s` broken at spaces into lines of at most `max` characters (a longer word is cut).
pub fn wrap(s: &str, max: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    for word in s.split_whitespace() {
        let word = fit(word, max);
        if !cur.is_empty() && cur.chars().count() + 1 + word.chars().count() > max {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(&word);
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

/// Text width estimate for layout (labels are cut to a known number of characters first).
pub fn text_px(chars: usize) -> f32 {
    chars as f32 * CHAR_PX
}

/// A figure's content being drawn, in content coordinates (the frame adds the title band and
/// the padding around it).
#[derive(Default)]
pub struct Canvas {
    body: String,
    defs: String,
}

impl Canvas {
    pub fn new() -> Self {
        Canvas::default()
    }

    pub fn raw(&mut self, s: &str) {
        self.body.push_str(s);
    }

    pub fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, fill: &str) {
        let _ = write!(self.body, r#"<rect x="{x:.2}" y="{y:.2}" width="{w:.2}" height="{h:.2}" fill="{fill}"/>"#);
    }

    /// Text at (x, y) (the baseline); `anchor` is `start`, `middle` or `end`; `extra` is more
    /// attributes, already escaped. (One call per label reads better than a builder here.)
    #[allow(clippy::too_many_arguments)]
    pub fn text(&mut self, x: f32, y: f32, anchor: &str, size: f32, fill: &str, extra: &str, s: &str) {
        let _ = write!(
            self.body,
            r#"<text x="{x:.1}" y="{y:.1}" text-anchor="{anchor}" font-size="{size}" fill="{fill}"{extra}>{}</text>"#,
            escape(s)
        );
    }

    pub fn line(&mut self, (x1, y1): (f32, f32), (x2, y2): (f32, f32), stroke: &str, width: f32, extra: &str) {
        let _ = write!(
            self.body,
            r#"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="{stroke}" stroke-width="{width}"{extra}/>"#
        );
    }

    pub fn path(&mut self, d: &str, stroke: &str, width: f32) {
        let _ = write!(self.body, r#"<path d="{d}" fill="none" stroke="{stroke}" stroke-width="{width}"/>"#);
    }

    /// A PNG (bytes) drawn at `w × h` without smoothing: each matrix cell stays a sharp square.
    pub fn image(&mut self, x: f32, y: f32, w: f32, h: f32, png: &[u8]) {
        let _ = write!(
            self.body,
            r#"<image x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" preserveAspectRatio="none" image-rendering="optimizeSpeed" style="image-rendering:pixelated" href="data:image/png;base64,{}"/>"#,
            base64(png)
        );
    }

    /// `s` wrapped to `width` in lines `step` apart from baseline `y`; returns the lines' height.
    pub fn paragraph(&mut self, x: f32, y: f32, width: f32, size: f32, s: &str) -> f32 {
        let step = size * 1.4;
        let lines = wrap(s, (width / (CHAR_PX * size / 12.0)) as usize);
        for (i, l) in lines.iter().enumerate() {
            self.text(x, y + i as f32 * step, "start", size, INK, "", l);
        }
        lines.len() as f32 * step
    }

    /// A horizontal viridis bar (0 at the left) with its end labels; defines its gradient once.
    pub fn viridis_legend(&mut self, x: f32, y: f32, w: f32, vmax: f32) {
        if self.defs.is_empty() {
            let stops: String = VIRIDIS
                .iter()
                .enumerate()
                .map(|(i, &c)| format!(r#"<stop offset="{}%" stop-color="{}"/>"#, i * 10, rgb_hex(c)))
                .collect();
            let _ = write!(self.defs, r#"<linearGradient id="viridis">{stops}</linearGradient>"#);
        }
        self.text(x - 4.0, y + 9.0, "end", 11.0, MUTED, "", "0");
        let _ = write!(self.body, r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="10" fill="url(#viridis)"/>"#);
        self.text(x + w + 4.0, y + 9.0, "start", 11.0, MUTED, "", &format!("{vmax:.3}"));
    }

    /// The finished document: `content_w × content_h` of drawing under the caption's line.
    pub fn finish(self, stem: String, caption: &Caption, content_w: f32, content_h: f32) -> Figure {
        let width = (content_w + 2.0 * PAD).max(MIN_WIDTH).ceil();
        let height = (TITLE_H + content_h + 2.0 * PAD).ceil();
        let line = caption.line();
        let room = width - 2.0 * PAD;
        let first = fit(&format!("“{}”", caption.sentence), (room / BOLD_CHAR_PX) as usize);
        let model = fit(&caption.model, (room / CHAR_PX) as usize);
        let second = fit(&format!("{} · {}", caption.layer, caption.head), (room / CHAR_PX) as usize);
        let mut s = String::with_capacity(self.body.len() + 1024);
        s.push_str(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
        s.push('\n');
        let _ = write!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="{}">"#,
            escape(FONT)
        );
        let _ = write!(s, "<title>{}</title>", escape(&line));
        if !self.defs.is_empty() {
            let _ = write!(s, "<defs>{}</defs>", self.defs);
        }
        let _ = write!(s, r##"<rect width="100%" height="100%" fill="#ffffff"/>"##);
        let _ = write!(
            s,
            r#"<text data-role="title" x="{PAD}" y="{:.1}" font-size="12" font-weight="600" fill="{INK}">{}</text>"#,
            PAD + 11.0,
            escape(&first)
        );
        let _ = write!(
            s,
            r#"<text data-role="model" x="{PAD}" y="{:.1}" font-size="12" fill="{MUTED}">{}</text>"#,
            PAD + 28.0,
            escape(&model)
        );
        let _ = write!(
            s,
            r#"<text data-role="subtitle" x="{PAD}" y="{:.1}" font-size="12" fill="{INK}">{}</text>"#,
            PAD + 44.0,
            escape(&second)
        );
        let _ = write!(s, r#"<g transform="translate({PAD} {})">"#, PAD + TITLE_H);
        s.push_str(&self.body);
        s.push_str("</g></svg>\n");
        Figure { stem, svg: s, width: width as u32, height: height as u32 }
    }
}

/// Standard base64 with padding (for `data:` URLs).
pub fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caption() -> Caption {
        Caption { model: "m".into(), sentence: "a < b & \"c\" [MASK]\u{1}".into(), layer: "layer 1 · block 0".into(), head: "head 0".into() }
    }

    #[test]
    fn escaping_makes_any_text_valid_xml() {
        assert_eq!(escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&apos;");
        assert_eq!(escape("x\u{0}\u{7}y\tz\n"), "xy z ");
        assert_eq!(escape("▁paris"), "▁paris");
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("abc", 4), "abc");
        assert_eq!(wrap("one two three four", 9), ["one two", "three", "four"]);
        assert_eq!(wrap("a verylongword b", 5), ["a", "very…", "b"]);
        assert!(wrap("  ", 5).is_empty());
    }

    #[test]
    fn base64_matches_rfc_4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(&[0xff, 0xfe]), "//4=");
    }

    #[test]
    fn frame_has_size_background_and_title_line() {
        let mut c = Canvas::new();
        c.rect(0.0, 0.0, 10.0, 10.0, "#000");
        c.viridis_legend(20.0, 0.0, 50.0, 0.5);
        let f = c.finish("albert-lens-x".into(), &caption(), 500.0, 100.0);
        assert_eq!((f.width, f.height), (524, 180));
        assert!(f.svg.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"524\" height=\"180\""));
        assert!(f.svg.contains("<title>m · “a &lt; b &amp; &quot;c&quot; [MASK]” · layer 1 · block 0 · head 0</title>"));
        assert!(f.svg.contains(r##"data-role="title" x="12" y="23.0" font-size="12" font-weight="600" fill="#1f2328">“a &lt; b &amp; &quot;c&quot; [MASK]”</text>"##));
        assert!(f.svg.contains(r##"data-role="model" x="12" y="40.0" font-size="12" fill="#59636e">m</text>"##));
        assert!(f.svg.contains(r##"data-role="subtitle" x="12" y="56.0" font-size="12" fill="#1f2328">layer 1 · block 0 · head 0</text>"##));
        assert_eq!(f.svg.matches("<linearGradient").count(), 1);
        assert!(f.svg.trim_end().ends_with("</g></svg>"));
        // A narrow figure is widened for the title; a long title is cut with an ellipsis.
        let long = Caption { sentence: "word ".repeat(100), ..caption() };
        let f = Canvas::new().finish("s".into(), &long, 10.0, 10.0);
        assert_eq!(f.width, MIN_WIDTH as u32);
        assert!(f.svg.contains("…</text>"));
    }
}
