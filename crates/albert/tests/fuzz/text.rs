//! Target text → ids, and on through a CPU forward of the tiny model.

use super::*;

/// Pieces of text that tokenizers treat specially.
const TEXT_PIECES: &[&str] = &[
    "[MASK]", "[SEP]", "[CLS]", "<pad>", "<unk>", "[mask]", "[MASK", "MASK]", " ", "  ", "\t", "\n", "\r\n", "\u{0}", "\u{7f}",
    "\u{200b}", "\u{200d}", "\u{2581}", "\u{feff}", "\u{fffd}", "\u{202e}", "``", "''", "é", "e\u{301}", "\u{301}", "ﬁ", "🙂",
    "👨\u{200d}👩\u{200d}👧", "Ⅻ", "١٢٣", "中文", "ǅ", "İ", "ß", "1,000", "the", "cat", ".", "-", "\u{10ffff}", "\u{e000}",
];

#[derive(Debug, Clone)]
enum Text {
    Any(String),
    Pieces(Vec<Index>),
    /// One piece repeated, to a huge text.
    Huge(Index, u32),
    Mixed(Vec<Index>, String),
}

fn text_input() -> impl Strategy<Value = Text> {
    let huge = if long_run() { 2_000_000u32 } else { 200_000 };
    prop_oneof![
        4 => any::<String>().prop_map(Text::Any),
        4 => prop::collection::vec(any::<Index>(), 0..40).prop_map(Text::Pieces),
        1 => (any::<Index>(), 1000..huge).prop_map(|(i, n)| Text::Huge(i, n)),
        2 => (prop::collection::vec(any::<Index>(), 0..10), "\\PC{0,20}").prop_map(|(p, s)| Text::Mixed(p, s)),
    ]
}

impl Text {
    fn string(&self) -> String {
        let piece = |i: &Index| TEXT_PIECES[i.index(TEXT_PIECES.len())];
        match self {
            Text::Any(s) => s.clone(),
            Text::Pieces(p) => p.iter().map(piece).collect(),
            Text::Huge(i, n) => {
                let p = piece(i);
                p.repeat((*n as usize / p.len().max(1)).max(1))
            }
            Text::Mixed(p, s) => p.iter().map(piece).chain([s.as_str()]).collect::<Vec<_>>().join(" "),
        }
    }
}

/// Every tokenizer the engine ships or reads: both routes of the fixtures, assets/model's, and
/// the real albert-base-v2 (both routes) when ../shared/data has it.
/// With each its vocabulary size (`Tokenizer::vocab_size` builds the vocabulary: once here).
fn tokenizers() -> &'static [(String, Tokenizer, usize)] {
    static T: OnceLock<Vec<(String, Tokenizer, usize)>> = OnceLock::new();
    T.get_or_init(|| {
        let mut out = Vec::new();
        for (name, b) in seeds_of("tokenizer.json") {
            out.push((name.clone(), Tokenizer::from_tokenizer_json(b).unwrap()));
        }
        for (name, b) in seeds_of("spiece.model") {
            out.push((name.clone(), Tokenizer::from_spiece_model(b, SpmOptions::default()).unwrap()));
        }
        out.into_iter().map(|(n, t)| {
            let v = t.vocab_size();
            (n, t, v)
        }).collect()
    })
}

/// The tiny model on the CPU, for text → ids → forward.
fn tiny_model() -> &'static std::sync::Mutex<FillMask> {
    static M: OnceLock<std::sync::Mutex<FillMask>> = OnceLock::new();
    M.get_or_init(|| {
        let files = ModelFiles::from_dir(common::fixture("tiny")).unwrap();
        std::sync::Mutex::new(pollster::block_on(FillMask::new(&files, None)).unwrap())
    })
}

#[test]
fn fuzz_text_to_ids() {
    let names: Vec<&str> = tokenizers().iter().map(|(n, _, _)| n.as_str()).collect();
    eprintln!("fuzz text → ids: tokenizers {names:?}");
    fuzz("text → ids", (text_input(), any::<Index>()), |(text, which)| {
        let s = text.string();
        let (_, tok, vocab) = &tokenizers()[which.index(tokenizers().len())];
        let t = Instant::now();
        match tok.encode(&s) {
            Ok(enc) => {
                check_encoding(&s, &enc)?;
                prop_assert!(enc.ids.iter().all(|&id| (id as usize) < *vocab), "an id past the vocabulary");
            }
            Err(e) => prop_assert!(matches!(e, Error::Tokenizer(_)), "{e}"),
        }
        check_time(t, s.len(), "encode")?;
        // The whole fill path on short texts: an answer or an input error, never a panic, and
        // probabilities that are numbers.
        if s.len() <= 512 {
            let mut m = tiny_model().lock().unwrap_or_else(|e| e.into_inner());
            match pollster::block_on(m.fill(&s, &FillOptions::default())) {
                Ok(r) => {
                    accepted();
                    for p in r.masks.iter().flat_map(|m| &m.top_k) {
                        prop_assert!(p.prob.is_finite() && (0.0..=1.0).contains(&p.prob), "probability {}", p.prob);
                    }
                }
                Err(e) => prop_assert!(matches!(e, Error::Input(_)), "fill: {e}"),
            }
        }
        check_time(t, s.len(), "encode and fill")
    });
}
