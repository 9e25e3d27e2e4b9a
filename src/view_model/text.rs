//! Editing the sentence: inserting `[MASK]` at the cursor and putting a prediction in place of
//! a `[MASK]`. Cursor positions come from `HTMLTextAreaElement.selectionStart`, which counts
//! UTF-16 code units, so conversions to Rust's byte offsets live here too.

/// The mask token exactly as ALBERT's tokenizer matches it (upper case, with brackets).
pub const MASK: &str = "[MASK]";
/// The separator that splits a text into a sentence pair.
pub const SEP: &str = "[SEP]";

/// How many `[MASK]` tokens the text holds (what the tokenizer will find).
pub fn count_masks(text: &str) -> usize {
    text.matches(MASK).count()
}

/// How the page names the `nth` (0-based) of `count` masks: `[MASK]` alone, else `[MASK] 2`.
pub fn mask_name(nth: usize, count: usize) -> String {
    if count > 1 {
        format!("{MASK} {}", nth + 1)
    } else {
        MASK.to_string()
    }
}

/// A mask group's heading: `[MASK]` alone, else `[MASK] 2 of 3`.
pub fn mask_title(nth: usize, count: usize) -> String {
    if count > 1 {
        format!("{} of {count}", mask_name(nth, count))
    } else {
        mask_name(nth, count)
    }
}

/// Why the text cannot be run yet, in the page's words; `None` when it has a `[MASK]`. Checked
/// before the model is asked (it may still be loading); the model's own checks (the tokens it
/// finds, the length it reads) come with its answer.
pub fn input_problem(text: &str) -> Option<&'static str> {
    if count_masks(text) > 0 {
        None
    } else if text.trim().is_empty() {
        Some("Type a sentence with [MASK] where a word should be guessed.")
    } else {
        Some("Add [MASK] (upper case, with brackets) where the model should guess a word: use the [MASK] button or Ctrl+M.")
    }
}

/// Whether the text is a sentence pair (`A [SEP] B`, with something after the separator).
pub fn is_pair(text: &str) -> bool {
    text.find(SEP).is_some_and(|i| !text[i + SEP.len()..].trim().is_empty())
}

/// Byte offset of a UTF-16 position (clamped to the text; never inside a character).
pub fn utf16_to_byte(text: &str, pos: usize) -> usize {
    let mut units = 0;
    for (i, c) in text.char_indices() {
        if units >= pos {
            return i;
        }
        units += c.len_utf16();
    }
    text.len()
}

/// UTF-16 position of a byte offset.
pub fn byte_to_utf16(text: &str, byte: usize) -> usize {
    text[..byte.min(text.len())].chars().map(char::len_utf16).sum()
}

/// Replaces the selection `[start, end)` (UTF-16 units, either order) with `[MASK]`, adding a
/// space on either side where the neighbour is a letter or digit, and returns the new text with
/// the cursor (UTF-16) just after the inserted mask.
pub fn insert_mask(text: &str, start: usize, end: usize) -> (String, usize) {
    let (a, b) = (start.min(end), start.max(end));
    let (a, b) = (utf16_to_byte(text, a), utf16_to_byte(text, b));
    let before = &text[..a];
    let after = &text[b..];
    let mut out = String::with_capacity(text.len() + MASK.len() + 2);
    out.push_str(before);
    if before.chars().next_back().is_some_and(|c| !c.is_whitespace()) {
        out.push(' ');
    }
    out.push_str(MASK);
    let cursor = byte_to_utf16(&out, out.len());
    if after.chars().next().is_some_and(|c| c.is_alphanumeric()) {
        out.push(' ');
    }
    out.push_str(after);
    (out, cursor)
}

/// Puts a predicted token in place of the `nth` (0-based) `[MASK]`. `display` is the token as
/// [`albert::Tokenizer::decode_token_for_display`] gives it: a leading space marks the start of
/// a word (`" paris"`), no leading space a continuation (`"ing"`), which is glued to the text
/// before the mask. Returns `None` if the text has no such mask.
pub fn replace_mask(text: &str, nth: usize, display: &str) -> Option<String> {
    let (at, _) = text.match_indices(MASK).nth(nth)?;
    let word = display.trim();
    let special = (word.starts_with('[') && word.ends_with(']')) || (word.starts_with('<') && word.ends_with('>'));
    let starts_word = display.starts_with(' ') || special;
    let mut before = &text[..at];
    let after = &text[at + MASK.len()..];
    let mut out = String::with_capacity(text.len() + word.len());
    if starts_word || word.is_empty() {
        out.push_str(before);
        if !word.is_empty() && before.chars().next_back().is_some_and(|c| c.is_alphanumeric()) {
            out.push(' ');
        }
    } else {
        // A word piece continues the previous word: drop the spaces before the mask.
        before = before.trim_end_matches([' ', '\t']);
        out.push_str(before);
    }
    out.push_str(word);
    out.push_str(after);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_masks_and_pairs() {
        assert_eq!(count_masks("a [MASK] b [MASK]"), 2);
        assert_eq!(count_masks("a [mask] b"), 0);
        assert!(is_pair("I went out. [SEP] It was [MASK]."));
        assert!(!is_pair("no pair [SEP]  "));
        assert!(!is_pair("no pair"));
        assert_eq!(input_problem("a [MASK] b"), None);
        assert_eq!((mask_name(0, 1), mask_title(0, 1)), ("[MASK]".to_string(), "[MASK]".to_string()));
        assert_eq!((mask_name(1, 3), mask_title(1, 3)), ("[MASK] 2".to_string(), "[MASK] 2 of 3".to_string()));
        assert!(input_problem("  ").unwrap().starts_with("Type a sentence"));
        assert!(input_problem("a [mask] b").unwrap().starts_with("Add [MASK]"));
    }

    #[test]
    fn utf16_positions_round_trip() {
        let t = "é😀a";
        assert_eq!(utf16_to_byte(t, 0), 0);
        assert_eq!(utf16_to_byte(t, 1), 2);
        assert_eq!(utf16_to_byte(t, 3), 6);
        assert_eq!(utf16_to_byte(t, 4), 7);
        assert_eq!(utf16_to_byte(t, 99), 7);
        assert_eq!(byte_to_utf16(t, 6), 3);
        assert_eq!(byte_to_utf16(t, 100), 4);
    }

    #[test]
    fn inserts_mask_with_spaces_where_needed() {
        assert_eq!(insert_mask("The cat", 7, 7), ("The cat [MASK]".to_string(), 14));
        assert_eq!(insert_mask("The  sat", 4, 4), ("The [MASK] sat".to_string(), 10));
        assert_eq!(insert_mask("", 0, 0), ("[MASK]".to_string(), 6));
        assert_eq!(insert_mask("Thecat", 3, 3), ("The [MASK] cat".to_string(), 10));
        // A selection is replaced, in either direction.
        assert_eq!(insert_mask("The dog sat.", 4, 7), ("The [MASK] sat.".to_string(), 10));
        assert_eq!(insert_mask("The dog sat.", 7, 4), ("The [MASK] sat.".to_string(), 10));
        // Punctuation after the mask stays attached.
        assert_eq!(insert_mask("It is .", 6, 6), ("It is [MASK].".to_string(), 12));
        // UTF-16 cursor after non-BMP text.
        let (t, c) = insert_mask("😀 x", 3, 3);
        assert_eq!(t, "😀 [MASK] x");
        assert_eq!(c, 9);
    }

    #[test]
    fn replaces_the_nth_mask() {
        let t = "The [MASK] barked at the [MASK].";
        assert_eq!(replace_mask(t, 0, " dog").unwrap(), "The dog barked at the [MASK].");
        assert_eq!(replace_mask(t, 1, " cat").unwrap(), "The [MASK] barked at the cat.");
        assert_eq!(replace_mask(t, 2, " x"), None);
        // Continuation pieces glue to the word before.
        assert_eq!(replace_mask("walk [MASK] home", 0, "ing").unwrap(), "walking home");
        // A word start after a letter gets a space.
        assert_eq!(replace_mask("big[MASK]", 0, " dog").unwrap(), "big dog");
        // Special tokens are put as they are.
        assert_eq!(replace_mask("a [MASK] b", 0, "[SEP]").unwrap(), "a [SEP] b");
    }
}
