//! Numbers for people: bytes, parameter counts, probabilities, durations.

/// Bytes in decimal units, as browsers' download bars show them: `532 B`, `45.2 kB`, `11.7 MB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    if n < 1000 {
        return format!("{n} B");
    }
    let mut v = n as f64;
    let mut unit = "B";
    for u in UNITS {
        if v < 1000.0 {
            break;
        }
        v /= 1000.0;
        unit = u;
    }
    if v >= 100.0 {
        format!("{v:.0} {unit}")
    } else if v >= 10.0 {
        format!("{v:.1} {unit}")
    } else {
        format!("{v:.2} {unit}")
    }
}

/// `loaded / total` for a progress line; the total may be unknown (no Content-Length).
pub fn progress(loaded: u64, total: Option<u64>) -> String {
    match total {
        Some(t) if t > 0 => format!("{} / {} ({:.0}%)", bytes(loaded), bytes(t), 100.0 * loaded as f64 / t as f64),
        _ => bytes(loaded),
    }
}

/// A count with thousands separators: `11,221,680`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A parameter count, short: `26.7K`, `11.2M`, `1.31B`.
pub fn count(n: u64) -> String {
    let v = n as f64;
    if n < 1000 {
        n.to_string()
    } else if v < 1e6 {
        format!("{:.1}K", v / 1e3)
    } else if v < 1e9 {
        format!("{:.1}M", v / 1e6)
    } else {
        format!("{:.2}B", v / 1e9)
    }
}

/// A probability as a percentage with precision where it matters: `91.3%`, `0.85%`, `<0.01%`.
pub fn percent(p: f32) -> String {
    let pct = p as f64 * 100.0;
    if pct >= 10.0 {
        format!("{pct:.1}%")
    } else if pct >= 0.01 {
        format!("{pct:.2}%")
    } else {
        "<0.01%".to_string()
    }
}

/// Milliseconds: `0.42 ms`, `12.3 ms`, `1.25 s`.
pub fn millis(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else if ms >= 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.2} ms")
    }
}

/// A ratio such as `9.6×`.
pub fn times(r: f64) -> String {
    if r >= 10.0 {
        format!("{r:.0}×")
    } else {
        format!("{r:.1}×")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `f(input) == want` for every case.
    fn check<T: Copy + std::fmt::Debug>(f: impl Fn(T) -> String, cases: &[(T, &str)]) {
        for &(input, want) in cases {
            assert_eq!(f(input), want, "{input:?}");
        }
    }

    #[test]
    fn formats_bytes() {
        check(bytes, &[(0, "0 B"), (999, "999 B"), (1000, "1.00 kB"), (110_136, "110 kB"), (45_200, "45.2 kB")]);
        check(bytes, &[(47_376_696, "47.4 MB"), (2_500_000_000, "2.50 GB")]);
        check(|(l, t)| progress(l, t), &[((500, Some(1000)), "500 B / 1.00 kB (50%)"), ((500, None), "500 B")]);
    }

    #[test]
    fn formats_counts() {
        check(thousands, &[(11_221_680, "11,221,680"), (999, "999"), (1000, "1,000")]);
        check(count, &[(26_696, "26.7K"), (11_221_680, "11.2M"), (1_310_000_000, "1.31B"), (12, "12")]);
    }

    #[test]
    fn formats_probabilities_and_times() {
        check(percent, &[(0.913, "91.3%"), (0.0085, "0.85%"), (0.00001, "<0.01%")]);
        check(millis, &[(0.421, "0.42 ms"), (12.34, "12.3 ms"), (1250.0, "1.25 s")]);
        check(times, &[(9.64, "9.6×"), (18.2, "18×")]);
    }
}
