//! The README's Layout section is the map of the repository; these tests keep it true. Every
//! entry it names (a line's first word, at the top level or two spaces in, under the folder
//! above it) must exist, and every module file and folder directly under the app's `src/` and
//! the engine's `crates/albert/src/` must be named in it. A rename or a new module that the map
//! does not follow fails here, with the names to fix.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The text of the first fenced block after `## Layout`.
fn layout_block() -> String {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("read README.md");
    let section = readme.split_once("\n## Layout\n").expect("README.md has a '## Layout' section").1;
    let mut fences = section.splitn(3, "```");
    fences.next();
    let block = fences.next().expect("the Layout section opens a ``` block");
    assert!(fences.next().is_some(), "the Layout block is closed with ```");
    block.to_string()
}

/// The paths the block's entries name, relative to the repository root: a top-level line names
/// one folder (`src/`) or a few files (`index.html Trunk.toml`); a line indented by two spaces
/// names its first word under the latest top-level folder. Deeper lines continue a description.
fn entries(block: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut folder: Option<String> = None;
    for line in block.lines().filter(|l| !l.trim().is_empty()) {
        let indent = line.len() - line.trim_start().len();
        let head = line.trim_start().split("  ").next().unwrap_or_default();
        match indent {
            0 => {
                let names: Vec<&str> = head.split_whitespace().collect();
                folder = match names.as_slice() {
                    [one] if one.ends_with('/') => Some(one.to_string()),
                    _ => None,
                };
                out.extend(names.iter().map(|n| n.to_string()));
            }
            2 => {
                let name = head.split_whitespace().next().unwrap_or_default();
                let under = folder.as_deref().unwrap_or_else(|| panic!("'{name}' is indented under no folder"));
                out.push(format!("{under}{name}"));
            }
            _ => {}
        }
    }
    out
}

/// `dir/*.css`: whether the folder holds a file with that suffix.
fn glob_matches(path: &Path) -> bool {
    let (Some(dir), Some(pattern)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else {
        return false;
    };
    let Some(suffix) = pattern.strip_prefix('*') else { return false };
    std::fs::read_dir(root().join(dir))
        .map(|it| it.flatten().any(|e| e.file_name().to_string_lossy().ends_with(suffix)))
        .unwrap_or(false)
}

#[test]
fn every_entry_the_layout_names_exists() {
    let block = layout_block();
    let entries = entries(&block);
    assert!(entries.len() > 20, "the Layout block names only {} entries: was it parsed? {entries:?}", entries.len());
    let missing: Vec<&String> = entries
        .iter()
        .filter(|e| {
            let p = Path::new(e.as_str());
            if e.contains('*') {
                !glob_matches(p)
            } else {
                !root().join(p).exists() || (e.ends_with('/') && !root().join(p).is_dir())
            }
        })
        .collect();
    println!("README Layout: {} entries checked", entries.len());
    assert!(missing.is_empty(), "README.md's Layout names what does not exist: {missing:?}");
}

/// Whether `name` (`stats.rs`, or a folder `gpu/`) occurs in `block` as a word of its own
/// (`src/gpu/`, `web.rs,` and `(output.rs)` count; `bench_stats.rs` does not).
fn names(block: &str, name: &str) -> bool {
    block.match_indices(name).any(|(i, _)| {
        let before = block[..i].chars().next_back();
        let after = block[i + name.len()..].chars().next();
        let word = |c: char| c.is_alphanumeric() || matches!(c, '_' | '-' | '.');
        // A folder may go on into a path (`ui/mod.rs`).
        !before.is_some_and(word) && (name.ends_with('/') || !after.is_some_and(|c| c.is_alphanumeric() || matches!(c, '_' | '-')))
    })
}

#[test]
fn every_top_level_module_is_on_the_map() {
    let block = layout_block();
    let mut unnamed = Vec::new();
    let mut checked = 0;
    for dir in ["src", "crates/albert/src"] {
        for entry in std::fs::read_dir(root().join(dir)).expect("read a source folder").flatten() {
            let file = entry.file_name().to_string_lossy().to_string();
            let is_dir = entry.path().is_dir();
            // The crate roots are what the folder is; the map names the folder.
            if !(is_dir || file.ends_with(".rs")) || file == "lib.rs" {
                continue;
            }
            checked += 1;
            let name = if is_dir { format!("{file}/") } else { file.clone() };
            if !names(&block, &name) {
                unnamed.push(format!("{dir}/{name}"));
            }
        }
    }
    unnamed.sort();
    println!("README Layout: {checked} top-level modules checked");
    assert!(checked > 20, "only {checked} modules found: wrong folders?");
    assert!(unnamed.is_empty(), "README.md's Layout does not name these modules: {unnamed:?}");
}

#[test]
fn the_parser_reads_entries_under_their_folder() {
    let block = "Cargo.toml            workspace\nindex.html Trunk.toml\nsrc/                  the app\n  main.rs               mounts\n                        web/fetch.rs, a continuation\n  ui/mod.rs             cards\n.ci/run               CI\n";
    assert_eq!(entries(block), ["Cargo.toml", "index.html", "Trunk.toml", "src/", "src/main.rs", "src/ui/mod.rs", ".ci/run"]);
    assert!(names("a (output.rs) b", "output.rs"));
    assert!(names("src/gpu/ and", "gpu/"));
    assert!(names("  ui/mod.rs  cards", "ui/"));
    assert!(!names("  wui/mod.rs", "ui/"));
    assert!(!names("bench_stats.rs", "stats.rs"));
    assert!(!names("stats.rsx", "stats.rs"));
}
