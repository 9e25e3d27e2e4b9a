//! What the browser cache keeps about a downloaded model, and the checks made when reading it
//! back. Each file's bytes are one Cache API entry (keyed by its URL); one more entry per model,
//! the record, lists the files with their size and SHA-256 and the files the server did not have
//! (so a cached load needs no network at all). A record is written only after the model loaded,
//! so an interrupted or broken download is never trusted.

use serde::{Deserialize, Serialize};

/// Cache API cache holding model files and records.
pub const MODEL_CACHE: &str = "albert-lens-models-v1";
/// Appended to a model's base URL to key its record.
pub const RECORD_SUFFIX: &str = ".albert-lens-record.json";

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileRecord {
    pub name: String,
    pub size: u64,
    /// Lower-case hex SHA-256 of the bytes.
    pub sha256: String,
    /// The server's ETag when it sent one (informative).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ModelRecord {
    /// Base URL (absolute, ending in `/`).
    pub base: String,
    /// What the page calls this model.
    pub label: String,
    pub files: Vec<FileRecord>,
    /// Files that were asked for and did not exist (HTTP 404).
    pub absent: Vec<String>,
    /// `Date.now()` when stored.
    pub stored_at_ms: f64,
}

impl ModelRecord {
    pub fn key(base: &str) -> String {
        format!("{base}{RECORD_SUFFIX}")
    }

    pub fn file(&self, name: &str) -> Option<&FileRecord> {
        self.files.iter().find(|f| f.name == name)
    }

    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }

    pub fn file_url(&self, name: &str) -> String {
        format!("{}{name}", self.base)
    }

    /// Whether `manifest` (the build's list of the embedded model's files) disagrees with this
    /// record, i.e. the deployed model changed since it was cached.
    pub fn is_stale(&self, manifest: &Manifest) -> bool {
        manifest.files.iter().any(|m| match self.file(&m.name) {
            Some(f) => f.size != m.size || !f.sha256.eq_ignore_ascii_case(&m.sha256),
            // A file the record says is absent now exists, or was never asked for: only a
            // problem if the loader would have read it.
            None => self.absent.contains(&m.name),
        }) || self.files.iter().any(|f| manifest.file(&f.name).is_none())
    }
}

/// Checks bytes read back from the cache against the record: size first (cheap), then SHA-256.
pub fn verify(expected: &FileRecord, size: u64, sha256: &str) -> Result<(), String> {
    if size != expected.size {
        return Err(format!(
            "cached {} is {size} bytes, expected {} (truncated or overwritten)",
            expected.name, expected.size
        ));
    }
    if !sha256.eq_ignore_ascii_case(&expected.sha256) {
        return Err(format!("cached {} has SHA-256 {sha256}, expected {}", expected.name, expected.sha256));
    }
    Ok(())
}

/// `model/manifest.json`, written at build time next to the embedded model
/// (scripts/trunk-post-build.mjs): its name, every file's size and SHA-256, and the held-out
/// scores its card reports (from assets/model/eval.json, when the build had one).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
pub struct Manifest {
    #[serde(default)]
    pub name: String,
    pub files: Vec<ManifestFile>,
    /// Missing, malformed or implausible scores read as none: they never cost the file checks.
    #[serde(default, deserialize_with = "lenient_heldout")]
    pub heldout: Option<Heldout>,
}

fn lenient_heldout<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Heldout>, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(serde_json::from_value::<Heldout>(v).ok().filter(Heldout::valid))
}

/// How the embedded model scored on books it never trained on (train/evaluate.py): what the page
/// says beside an answer, so one answer is read against the model's accuracy.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Heldout {
    /// Held-out examples (sentence pairs) scored.
    pub examples: u32,
    /// Masked-word top-1: 15 % of tokens masked one by one, each replaced by [MASK].
    pub masked_top1: f64,
    /// Sentence-order accuracy on the same pairs, half of them swapped.
    pub sop: f64,
    /// Sentence-order accuracy on the pairs whose two segments meet between sentences (segments of
    /// several sentences each, up to 128 tokens); the rest meet inside a sentence too long for the
    /// pair, where a segment starting mid-sentence gives the order away. Absent from older
    /// evaluations.
    #[serde(default)]
    pub sop_sentences: Option<SopSplit>,
    /// Sentence-order accuracy on two consecutive single sentences (evaluate.py's
    /// `sop_sentence_pairs`): what the sentence-order view gets when someone types two sentences.
    /// Absent from evaluations before session 24.
    #[serde(default)]
    pub sop_pairs: Option<SopSplit>,
    /// How often a rule that reads no word ("in order when the first segment is the longer") is
    /// right on the pairs `sop` counts: how much of `sop` the segments' lengths alone give.
    #[serde(default)]
    pub sop_length_rule: Option<f64>,
}

/// Sentence-order accuracy on one kind of held-out pair (train/evaluate.py's `sop_by_split`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SopSplit {
    /// Pairs of this kind among the held-out examples.
    pub examples: u32,
    pub sop: f64,
}

impl Heldout {
    /// Only plausible scores are shown: a manifest from a broken build is ignored, not printed.
    pub fn valid(&self) -> bool {
        let split_ok = self
            .sop_sentences
            .as_ref()
            .is_none_or(|s| s.examples > 0 && s.examples <= self.examples && (0.0..=1.0).contains(&s.sop));
        let pairs_ok = self.sop_pairs.as_ref().is_none_or(|s| s.examples > 0 && (0.0..=1.0).contains(&s.sop));
        let rule_ok = self.sop_length_rule.is_none_or(|r| (0.0..=1.0).contains(&r));
        self.examples > 0
            && (0.0..=1.0).contains(&self.masked_top1)
            && (0.0..=1.0).contains(&self.sop)
            && split_ok
            && pairs_ok
            && rule_ok
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ManifestFile {
    pub name: String,
    pub size: u64,
    pub sha256: String,
}

impl Manifest {
    pub fn parse(text: &str) -> Option<Manifest> {
        serde_json::from_str(text).ok()
    }

    pub fn file(&self, name: &str) -> Option<&ManifestFile> {
        self.files.iter().find(|f| f.name == name)
    }
}

/// Lower-case hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> ModelRecord {
        ModelRecord {
            base: "http://x/m/".into(),
            label: "m".into(),
            files: vec![
                FileRecord { name: "config.json".into(), size: 10, sha256: "ab".repeat(32), etag: None },
                FileRecord { name: "model.safetensors".into(), size: 1000, sha256: "cd".repeat(32), etag: Some("\"e\"".into()) },
            ],
            absent: vec!["model.safetensors.index.json".into()],
            stored_at_ms: 1.0,
        }
    }

    #[test]
    fn record_round_trips_and_sums() {
        let r = record();
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<ModelRecord>(&json).unwrap(), r);
        assert_eq!(r.total_bytes(), 1010);
        assert_eq!(ModelRecord::key(&r.base), "http://x/m/.albert-lens-record.json");
        assert_eq!(r.file_url("config.json"), "http://x/m/config.json");
    }

    #[test]
    fn verification_checks_size_then_hash() {
        let r = record();
        let f = r.file("model.safetensors").unwrap();
        assert!(verify(f, 1000, &"CD".repeat(32)).is_ok());
        assert!(verify(f, 999, &"cd".repeat(32)).unwrap_err().contains("999 bytes"));
        assert!(verify(f, 1000, &"00".repeat(32)).unwrap_err().contains("SHA-256"));
    }

    #[test]
    fn staleness_against_the_build_manifest() {
        let r = record();
        let same = Manifest {
            name: "m".into(),
            files: r.files.iter().map(|f| ManifestFile { name: f.name.clone(), size: f.size, sha256: f.sha256.clone() }).collect(),
            heldout: None,
        };
        assert!(!r.is_stale(&same));
        let mut changed = same.clone();
        changed.files[1].sha256 = "ef".repeat(32);
        assert!(r.is_stale(&changed));
        let mut grown = same.clone();
        grown.files.push(ManifestFile { name: "model.safetensors.index.json".into(), size: 5, sha256: "00".into() });
        assert!(r.is_stale(&grown));
        let mut shrunk = same.clone();
        shrunk.files.pop();
        assert!(r.is_stale(&shrunk));
        // Files the loader never reads (README.md) do not matter.
        let mut extra = same;
        extra.files.push(ManifestFile { name: "README.md".into(), size: 5, sha256: "00".into() });
        assert!(!r.is_stale(&extra));
        assert_eq!(Manifest::parse("{\"files\": []}").unwrap().name, "");
        assert_eq!(Manifest::parse("nope"), None);
    }

    #[test]
    fn manifest_keeps_plausible_heldout_scores_only() {
        let with = |h: &str| format!("{{\"name\": \"m\", \"files\": [], \"heldout\": {h}}}");
        let m = Manifest::parse(&with("{\"examples\": 2000, \"masked_top1\": 0.2763, \"sop\": 0.6545}")).unwrap();
        assert_eq!(
            m.heldout,
            Some(Heldout { examples: 2000, masked_top1: 0.2763, sop: 0.6545, sop_sentences: None, sop_pairs: None, sop_length_rule: None })
        );
        let split = "{\"examples\": 2000, \"masked_top1\": 0.2763, \"sop\": 0.6545, \"sop_sentences\": {\"examples\": 1885, \"sop\": 0.602}}";
        assert_eq!(
            Manifest::parse(&with(split)).unwrap().heldout.and_then(|h| h.sop_sentences),
            Some(SopSplit { examples: 1885, sop: 0.602 })
        );
        let cue_free = "{\"examples\": 2000, \"masked_top1\": 0.2763, \"sop\": 0.6545, \"sop_pairs\": {\"examples\": 2000, \"sop\": 0.512}, \"sop_length_rule\": 0.607}";
        let h = Manifest::parse(&with(cue_free)).unwrap().heldout.unwrap();
        assert_eq!((h.sop_pairs, h.sop_length_rule), (Some(SopSplit { examples: 2000, sop: 0.512 }), Some(0.607)));
        assert_eq!(Manifest::parse("{\"files\": []}").unwrap().heldout, None, "older builds wrote none");
        assert_eq!(Manifest::parse(&with("null")).unwrap().heldout, None);
        for bad in [
            "{\"examples\": 0, \"masked_top1\": 0.2, \"sop\": 0.6}",
            "{\"examples\": 10, \"masked_top1\": 27.6, \"sop\": 0.6}",
            "{\"examples\": 10, \"masked_top1\": 0.2, \"sop\": -0.1}",
            "{\"examples\": 10, \"masked_top1\": 0.2, \"sop\": 0.6, \"sop_sentences\": {\"examples\": 11, \"sop\": 0.6}}",
            "{\"examples\": 10, \"masked_top1\": 0.2, \"sop\": 0.6, \"sop_sentences\": {\"examples\": 0, \"sop\": 0.6}}",
            "{\"examples\": 10, \"masked_top1\": 0.2, \"sop\": 0.6, \"sop_sentences\": {\"examples\": 9, \"sop\": 60.2}}",
            "{\"examples\": 10, \"masked_top1\": 0.2, \"sop\": 0.6, \"sop_pairs\": {\"examples\": 0, \"sop\": 0.5}}",
            "{\"examples\": 10, \"masked_top1\": 0.2, \"sop\": 0.6, \"sop_pairs\": {\"examples\": 10, \"sop\": 51.2}}",
            "{\"examples\": 10, \"masked_top1\": 0.2, \"sop\": 0.6, \"sop_length_rule\": 60.7}",
        ] {
            let m = Manifest::parse(&with(bad)).expect("the manifest itself is still read");
            assert_eq!(m.heldout, None, "{bad}");
            assert_eq!(m.name, "m");
        }
        // A malformed entry too: the file checks still work.
        let m = Manifest::parse(&with("{\"examples\": \"many\"}")).expect("the manifest itself is still read");
        assert_eq!((m.heldout, m.name.as_str()), (None, "m"));
    }

    #[test]
    fn hex_is_lower_case() {
        assert_eq!(hex(&[0, 15, 255]), "000fff");
    }
}
