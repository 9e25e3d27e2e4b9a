//! Head switches as the page keeps them: `?off=3.0:5,1.0:0` (the CLI's `--ablate` syntax),
//! toggled by clicks, and which of them a forward can honour (a switch in layer 5 means nothing
//! at depth 4, and a link made on another model may name heads this one does not have: those
//! stay in the list, marked, instead of failing the forward).

use albert::HeadSwitch;

/// The switches in a comma-separated list, in order, each once; entries that do not parse are
/// dropped (a hand-edited URL must not break the page).
pub fn parse_list(s: &str) -> Vec<HeadSwitch> {
    let mut out: Vec<HeadSwitch> = Vec::new();
    for part in s.split(',').filter(|p| !p.trim().is_empty()) {
        if let Ok(sw) = part.parse::<HeadSwitch>() {
            if !out.contains(&sw) {
                out.push(sw);
            }
        }
    }
    out
}

/// `3.0:5,1.0:0`, or `None` for no switches (the parameter is removed).
pub fn format_list(list: &[HeadSwitch]) -> Option<String> {
    (!list.is_empty()).then(|| list.iter().map(HeadSwitch::to_string).collect::<Vec<_>>().join(","))
}

/// Switches `s` off, or back on when it is off; returns whether it is off now.
pub fn toggle(list: &mut Vec<HeadSwitch>, s: HeadSwitch) -> bool {
    if let Some(i) = list.iter().position(|x| *x == s) {
        list.remove(i);
        false
    } else {
        list.push(s);
        true
    }
}

/// The forward's shape the switches are checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// Layer applications this forward runs (K).
    pub depth: usize,
    pub inner: usize,
    pub heads: usize,
}

/// Why the forward cannot honour `s`, or `None` when it can.
pub fn inactive_reason(s: &HeadSwitch, shape: Shape) -> Option<String> {
    if s.layer == 0 || s.layer > shape.depth {
        Some(format!("layer {} is not run at depth {}", s.layer, shape.depth))
    } else if s.inner >= shape.inner {
        Some(format!("this model has {} inner layer(s) per application", shape.inner))
    } else if s.head >= shape.heads {
        Some(format!("this model has heads 0..{}", shape.heads.saturating_sub(1)))
    } else {
        None
    }
}

/// The switches the forward applies.
pub fn active(list: &[HeadSwitch], shape: Shape) -> Vec<HeadSwitch> {
    list.iter().filter(|s| inactive_reason(s, shape).is_none()).copied().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sw(s: &str) -> HeadSwitch {
        s.parse().unwrap()
    }

    #[test]
    fn parse_format_toggle() {
        let mut l = parse_list("3.0:5, 1.0:0,,x,3.0:5");
        assert_eq!(format_list(&l).as_deref(), Some("3.0:5,1.0:0"));
        assert!(toggle(&mut l, sw("2.1:3")));
        assert!(!toggle(&mut l, sw("3.0:5")));
        assert_eq!(format_list(&l).as_deref(), Some("1.0:0,2.1:3"));
        assert_eq!(format_list(&[]), None);
        assert!(parse_list("").is_empty());
    }

    #[test]
    fn only_what_the_forward_has() {
        let shape = Shape { depth: 3, inner: 2, heads: 4 };
        let l = parse_list("1.0:0,4.0:0,1.2:0,1.1:4,3.1:3,0.0:0");
        assert_eq!(format_list(&active(&l, shape)).as_deref(), Some("1.0:0,3.1:3"));
        assert!(inactive_reason(&sw("4.0:0"), shape).unwrap().contains("depth 3"));
        assert!(inactive_reason(&sw("1.2:0"), shape).unwrap().contains("2 inner"));
        assert!(inactive_reason(&sw("1.1:4"), shape).unwrap().contains("heads 0..3"));
    }
}
