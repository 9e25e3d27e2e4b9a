//! The stylesheets as the page loads them: every `assets/*.css` is linked once in index.html (a
//! file that is not linked would style nothing, silently), and theme.css's two dark palettes,
//! the system's and the toggle's, hold the same colours (one edited without the other would
//! make the toggle and the system disagree).

use std::collections::BTreeMap;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

/// The `href`s of index.html's Trunk CSS links, in order.
fn linked_css(html: &str) -> Vec<String> {
    html.lines()
        .filter(|l| l.contains("data-trunk") && l.contains("rel=\"css\""))
        .filter_map(|l| l.split("href=\"").nth(1)?.split('"').next().map(str::to_string))
        .collect()
}

/// The custom properties a rule's body sets: `--name: value;` → name → value.
fn custom_properties(body: &str) -> BTreeMap<String, String> {
    body.split(';')
        .filter_map(|decl| {
            let decl = decl.trim();
            let decl = decl.rsplit("*/").next().unwrap_or(decl).trim();
            let (k, v) = decl.split_once(':')?;
            let k = k.trim();
            k.starts_with("--").then(|| (k.to_string(), v.trim().to_string()))
        })
        .collect()
}

/// The body of the first rule after `selector` (between its `{` and the matching `}`).
fn rule_body<'a>(css: &'a str, selector: &str) -> &'a str {
    let at = css.find(selector).unwrap_or_else(|| panic!("theme.css has no '{selector}'"));
    let open = at + css[at..].find('{').expect("a rule opens");
    let mut depth = 0;
    for (i, c) in css[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return &css[open + 1..open + i];
                }
            }
            _ => {}
        }
    }
    panic!("'{selector}' is not closed");
}

#[test]
fn every_stylesheet_is_linked_once() {
    let links = linked_css(&read("index.html"));
    let mut files: Vec<String> = std::fs::read_dir(root().join("assets"))
        .expect("read assets/")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".css"))
        .map(|n| format!("assets/{n}"))
        .collect();
    files.sort();
    let mut linked = links.clone();
    linked.sort();
    println!("index.html links {} stylesheets: {links:?}", links.len());
    assert_eq!(linked, files, "index.html's CSS links (left) against the files in assets/ (right)");
    assert_eq!(links.first().map(String::as_str), Some("assets/theme.css"), "theme.css (the palette) comes first");
}

#[test]
fn the_two_dark_palettes_agree() {
    let css = read("assets/theme.css");
    let system = custom_properties(rule_body(&css, ":root:not([data-theme=\"light\"])"));
    let toggle = custom_properties(rule_body(&css, ":root[data-theme=\"dark\"]"));
    let light = custom_properties(rule_body(&css, ":root {"));
    println!("dark palette: {} colours from the system, {} from the toggle", system.len(), toggle.len());
    assert!(system.len() >= 10, "the system's dark palette was not read: {system:?}");
    assert_eq!(system, toggle, "the system's dark palette (left) and the toggle's (right) differ");
    let unknown: Vec<&String> = system.keys().filter(|k| !light.contains_key(*k)).collect();
    assert!(unknown.is_empty(), "the dark palette sets properties the light one does not: {unknown:?}");
}

#[test]
fn the_parsers_read_what_they_should() {
    let html = "<link data-trunk rel=\"css\" href=\"assets/a.css\" />\n<link data-trunk rel=\"icon\" href=\"x.svg\" />\n<link data-trunk rel=\"css\" href=\"assets/b.css\" />";
    assert_eq!(linked_css(html), ["assets/a.css", "assets/b.css"]);
    let css = "@media (x) {\n  .a {\n    --bg: #111; /* why */ --fg: #eee;\n  }\n}\n.b { --bg: #222; color: red; }";
    let a = custom_properties(rule_body(css, ".a"));
    assert_eq!(a.get("--bg").map(String::as_str), Some("#111"));
    assert_eq!(a.get("--fg").map(String::as_str), Some("#eee"));
    assert_eq!(custom_properties(rule_body(css, ".b")).len(), 1);
}
