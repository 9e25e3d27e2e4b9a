//! How text becomes an encoding: the mask token however it is spaced, a literal `[SEP]` as a
//! sentence pair, offsets into the original text, empty and blank text.

use super::*;

#[test]
fn mask_recognized_regardless_of_spacing() {
    for v in vocabs("mask_recognized_regardless_of_spacing") {
        for t in [&v.fast, &v.spm] {
            let m = t.mask_token_id();
            let count = |s: &str| t.encode(s).unwrap().ids.iter().filter(|&&i| i == m).count();
            assert_eq!(count("The capital is[MASK]."), 1, "[{}] is[MASK].", v.name);
            assert_eq!(count("[MASK]ing"), 1);
            assert_eq!(count("a [MASK][MASK] b"), 2);
            assert_eq!(count("a\t[MASK]\n b"), 1);
            assert_eq!(count("[mask] and [Mask]"), 0, "[{}] lowercase [mask] must not be the mask token", v.name);
            let e = t.encode("is[MASK].").unwrap();
            let pos = t.mask_positions(&e);
            assert_eq!(pos.len(), 1);
            assert_eq!(e.tokens[pos[0]], "[MASK]");
            assert!(e.special[pos[0]]);
            assert_eq!(e.offsets[pos[0]], (2, 8));
            let e = t.encode("a [MASK][MASK] b").unwrap();
            assert_eq!(t.mask_positions(&e).len(), 2);
        }
    }
}

#[test]
fn literal_sep_makes_a_sentence_pair() {
    for v in vocabs("literal_sep_makes_a_sentence_pair") {
        for t in [&v.fast, &v.spm] {
            let text = "The cat sat. [SEP] It was [MASK].";
            let e = t.encode(text).unwrap();
            let sep = t.sep_token_id();
            let seps: Vec<usize> = e.ids.iter().enumerate().filter(|(_, &i)| i == sep).map(|(i, _)| i).collect();
            assert_eq!(seps.len(), 2, "[{}] {:?}", v.name, e.tokens);
            assert_eq!(*seps.last().unwrap(), e.len() - 1);
            let first = seps[0];
            assert!(e.type_ids[..=first].iter().all(|&x| x == 0), "{:?}", e.type_ids);
            assert!(e.type_ids[first + 1..].iter().all(|&x| x == 1), "{:?}", e.type_ids);
            assert_eq!(e.ids[0], t.cls_token_id());
            // Same as the explicit pair, whitespace around [SEP] trimmed; no stray "▁" tokens.
            let p = t.encode_pair("The cat sat.", Some("It was [MASK].")).unwrap();
            assert_eq!(e.ids, p.ids);
            assert_eq!(e.type_ids, p.type_ids);
            assert_eq!(e.tokens, p.tokens);
            // B's offsets point into the full text.
            let b_start = text.find("It was").unwrap();
            for (i, (&(s, end), &(ps, pe))) in e.offsets.iter().zip(&p.offsets).enumerate() {
                if e.type_ids[i] == 1 && (ps, pe) != (0, 0) {
                    assert_eq!((s, end), (ps + b_start, pe + b_start));
                } else {
                    assert_eq!((s, end), (ps, pe));
                }
            }
            let mask = t.mask_positions(&e)[0];
            assert_eq!(&text[e.offsets[mask].0..e.offsets[mask].1], " [MASK]");
            // No space around [SEP], and a trailing [SEP] (empty B) gives a single sentence.
            let tight = t.encode("A[SEP]B").unwrap();
            let spaced = t.encode("A [SEP] B").unwrap();
            assert_eq!((&tight.ids, &tight.tokens, &tight.type_ids), (&spaced.ids, &spaced.tokens, &spaced.type_ids));
            let b_tok = tight.len() - 2;
            assert_eq!(&"A[SEP]B"[tight.offsets[b_tok].0..tight.offsets[b_tok].1], "B");
            assert_eq!(&"A [SEP] B"[spaced.offsets[b_tok].0..spaced.offsets[b_tok].1], "B");
            let single = t.encode("just one [SEP]").unwrap();
            assert_eq!(single.ids, t.encode("just one").unwrap().ids);
            assert!(single.type_ids.iter().all(|&x| x == 0));
            // Only the first [SEP] splits; a second one stays a token of B.
            let e = t.encode("a [SEP] b [SEP] c").unwrap();
            assert_eq!(e.ids.iter().filter(|&&i| i == sep).count(), 3);
            assert_eq!(e.type_ids.iter().filter(|&&x| x == 1).count(), e.len() - 1 - 2);
        }
    }
}

#[test]
fn offsets_point_into_the_original_text() {
    for v in vocabs("offsets_point_into_the_original_text") {
        for t in [&v.fast, &v.spm] {
            let mut checked = 0;
            for c in v.cases.iter().filter(|c| c.pair.is_none()) {
                let text = &c.text;
                let e = t.encode(text).unwrap();
                for i in 0..e.len() {
                    let (s, end) = e.offsets[i];
                    assert!(
                        s <= end && end <= text.len(),
                        "case {}: offset {:?} outside {:?}",
                        c.index,
                        (s, end),
                        text
                    );
                    assert!(text.is_char_boundary(s) && text.is_char_boundary(end), "case {}: {:?}", c.index, (s, end));
                    let is_template = e.special[i]
                        && (s, end) == (0, 0)
                        && (i == 0 || i == e.len() - 1 || e.ids[i] == t.sep_token_id());
                    // Plain printable ASCII only: control characters are deleted by the
                    // normalizer, and `` and '' become " (one character for two), aligned to just
                    // one of the two source characters.
                    let plain = text.chars().all(|c| c == ' ' || c.is_ascii_graphic());
                    if is_template || !plain || text.contains("``") || text.contains("''") {
                        continue;
                    }
                    // Plain ASCII: the slice, lowercased and without whitespace, is the token's
                    // characters (without the ▁ marker).
                    let slice: String =
                        text[s..end].chars().filter(|c| !c.is_whitespace()).collect::<String>().to_lowercase();
                    let tok = e.tokens[i].trim_start_matches('\u{2581}');
                    let tok = tok.to_lowercase();
                    if tok == "<unk>" || tok.is_empty() {
                        continue;
                    }
                    assert_eq!(
                        slice,
                        tok,
                        "case {} {:?}: token {} {:?} at {:?} covers {:?}",
                        c.index,
                        text,
                        i,
                        e.tokens[i],
                        (s, end),
                        &text[s..end]
                    );
                    checked += 1;
                }
            }
            assert!(checked > 1000, "[{}] only {checked} tokens checked", v.name);
        }
    }
    // A hand-made example, byte offsets with multi-byte characters.
    let t = tiny_vocab().fast;
    let text = "Café [SEP] naïve";
    let e = t.encode(text).unwrap();
    for i in 0..e.len() {
        let (s, end) = e.offsets[i];
        assert!(text.get(s..end).is_some(), "{:?}", (s, end));
    }
    let last_b = (0..e.len()).rev().find(|&i| e.type_ids[i] == 1 && !e.special[i]).unwrap();
    assert_eq!(e.offsets[last_b].1, text.len());
}

#[test]
fn empty_and_whitespace_text() {
    for v in vocabs("empty_and_whitespace_text") {
        for t in [&v.fast, &v.spm] {
            let e = t.encode("").unwrap();
            assert_eq!(e.ids, vec![t.cls_token_id(), t.sep_token_id()]);
            assert_eq!(e.offsets, vec![(0, 0), (0, 0)]);
            assert_eq!(e.special, vec![true, true]);
            assert_eq!(t.encode_pair("", Some("")).unwrap().ids, e.ids);
            assert_eq!(t.encode("[SEP]").unwrap().ids, e.ids);
            assert!(t.encode("   ").is_ok());
        }
    }
}
