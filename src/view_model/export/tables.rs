//! The forward's numbers as files: the predictions as JSON (`albert fill --json`'s schema) and as
//! CSV (one row per prediction), and the attentions as JSON (`albert fill --json --attentions`'s
//! schema), so a script written for the CLI reads what the page exports.

use serde_json::{json, Value};

use super::FileOut;
use crate::view_model::attention::data::AttentionData;

/// One prediction as the page holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct Pick {
    /// Vocabulary entry (`▁paris`), as the CLI's `token`.
    pub token: String,
    /// As the page prints it (`" paris"`).
    pub display: String,
    pub id: u32,
    pub prob: f32,
}

/// One `[MASK]`'s top-k.
#[derive(Clone, Debug, PartialEq)]
pub struct MaskPicks {
    pub position: usize,
    pub top_k: Vec<Pick>,
}

/// What the page knows of one forward, in the CLI's terms.
#[derive(Clone, Debug, PartialEq)]
pub struct Forward {
    /// The CLI's `model` object ([`model_json`]).
    pub model: Value,
    /// `"webgpu: <adapter>"` or `"cpu"` (the CLI says `"gpu: …"` or `"cpu"`).
    pub device: String,
    /// Vocabulary entries, ids and token types of the input.
    pub tokens: Vec<String>,
    pub ids: Vec<u32>,
    pub type_ids: Vec<u32>,
    pub masks: Vec<MaskPicks>,
}

/// The CLI's `model` object: where the model came from, its architecture, dtype, parameters in
/// the checkpoint and config.json (as `albert fill --json` prints it).
pub fn model_json(source: &str, info: &albert::ModelInfo) -> Value {
    json!({
        "source": source,
        "architecture": info.architecture,
        "dtype": info.dtype,
        "parameters": info.checkpoint_parameters,
        "config": info.config,
    })
}

impl Forward {
    /// `albert fill --json`: model, device, tokens, ids, token_type_ids, masks (position, top_k
    /// of token, id, prob). Numbers go through the same `json!` conversion as the CLI's, so equal
    /// results print equal text.
    fn base(&self) -> Value {
        let masks: Vec<Value> = self
            .masks
            .iter()
            .map(|m| {
                let top: Vec<Value> = m.top_k.iter().map(|p| json!({"token": p.token, "id": p.id, "prob": p.prob})).collect();
                json!({"position": m.position, "top_k": top})
            })
            .collect();
        json!({
            "model": self.model,
            "device": self.device,
            "tokens": self.tokens,
            "ids": self.ids,
            "token_type_ids": self.type_ids,
            "masks": masks,
        })
    }

    /// The predictions in `albert fill --json`'s schema.
    pub fn predictions_json(&self) -> FileOut {
        FileOut { name: "albert-lens-predictions.json".into(), mime: "application/json", body: pretty(&self.base()) }
    }

    /// The forward with its attentions in `albert fill --json --attentions`'s schema:
    /// `attentions[map][head][query][key]` in execution order and `attention_groups[map]`.
    pub fn attentions_json(&self, att: &AttentionData) -> FileOut {
        let mut v = self.base();
        let t = att.seq_len();
        let maps: Vec<Vec<Vec<&[f32]>>> = att
            .layers
            .iter()
            .map(|l| (0..l.heads).map(|h| l.head(h).chunks(t.max(1)).collect()).collect())
            .collect();
        v["attentions"] = json!(maps);
        v["attention_groups"] = json!(att.layers.iter().map(|l| l.group).collect::<Vec<_>>());
        FileOut { name: "albert-lens-attentions.json".into(), mime: "application/json", body: pretty(&v) }
    }

    /// One row per prediction: `mask,position,rank,token,display,id,prob` (mask and rank from
    /// 1; the display form without its leading space).
    pub fn predictions_csv(&self) -> FileOut {
        let mut out = String::from("mask,position,rank,token,display,id,prob\r\n");
        for (m, mask) in self.masks.iter().enumerate() {
            for (r, p) in mask.top_k.iter().enumerate() {
                let fields = [
                    (m + 1).to_string(),
                    mask.position.to_string(),
                    (r + 1).to_string(),
                    csv_field(&p.token),
                    csv_field(p.display.trim()),
                    p.id.to_string(),
                    p.prob.to_string(),
                ];
                out.push_str(&fields.join(","));
                out.push_str("\r\n");
            }
        }
        FileOut { name: "albert-lens-predictions.csv".into(), mime: "text/csv", body: out }
    }
}

/// RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled. A field
/// a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab or CR first, then more: a
/// vocabulary comes from whoever made the checkpoint) gets a leading `'` (OWASP's CSV injection
/// advice); a lone `-` or `+` token stays as it is. The `id` column is exact either way.
pub fn csv_field(s: &str) -> String {
    let formula = s.chars().count() > 1 && s.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let s = if formula { format!("'{s}") } else { s.to_string() };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn pretty(v: &Value) -> String {
    // Serialising a `Value` cannot fail (its keys are strings); fall back to compact text anyway.
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string()) + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view_model::attention::layer::LayerAttention;

    /// `albert fill --model crates/albert/tests/fixtures/pretraining --text 'the [MASK] sat,
    /// "well".' --json --attentions --device cpu --top-k 3`.
    const CLI: &str = include_str!("testdata/fill_attentions.json");

    /// The page's view of the CLI's forward: what `session::fill` and `ui::export` hand over.
    fn from_cli(cli: &Value) -> (Forward, AttentionData) {
        let config = albert::Config::from_json(&cli["model"]["config"].to_string()).unwrap();
        let info = albert::ModelInfo {
            architecture: cli["model"]["architecture"].as_str().unwrap().into(),
            dtype: albert::DType::F32,
            parameters: config.parameter_counts(),
            checkpoint_parameters: cli["model"]["parameters"].as_u64().unwrap() as usize,
            weight_bytes: 0,
            file_bytes: 0,
            bert_equivalent_parameters: 0,
            tokenizer: "tokenizer.json".into(),
            config,
        };
        let strs = |v: &Value| v.as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect::<Vec<_>>();
        let nums = |v: &Value| v.as_array().unwrap().iter().map(|n| n.as_u64().unwrap() as u32).collect::<Vec<_>>();
        let masks = cli["masks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| MaskPicks {
                position: m["position"].as_u64().unwrap() as usize,
                top_k: m["top_k"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| Pick {
                        token: p["token"].as_str().unwrap().into(),
                        display: p["token"].as_str().unwrap().replace('▁', " "),
                        id: p["id"].as_u64().unwrap() as u32,
                        prob: p["prob"].as_f64().unwrap() as f32,
                    })
                    .collect(),
            })
            .collect::<Vec<MaskPicks>>();
        let tokens = strs(&cli["tokens"]);
        let layers = cli["attentions"]
            .as_array()
            .unwrap()
            .iter()
            .zip(cli["attention_groups"].as_array().unwrap())
            .enumerate()
            .map(|(i, (heads, g))| {
                let data: Vec<f32> = heads.as_array().unwrap().iter().flat_map(|h| h.as_array().unwrap().iter())
                    .flat_map(|row| row.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32))
                    .collect();
                LayerAttention { index: i, layer: i, group: g.as_u64().unwrap() as usize, inner: 0, heads: heads.as_array().unwrap().len(), data, ..Default::default() }
            })
            .collect();
        let att = AttentionData { tokens: tokens.clone(), mask_positions: masks.iter().map(|m| m.position).collect(), layers, thumb_side: 0 };
        let fwd = Forward {
            model: model_json(cli["model"]["source"].as_str().unwrap(), &info),
            device: cli["device"].as_str().unwrap().into(),
            tokens,
            ids: nums(&cli["ids"]),
            type_ids: nums(&cli["token_type_ids"]),
            masks,
        };
        (fwd, att)
    }

    #[test]
    fn attentions_json_is_the_clis_for_the_same_result() {
        let cli: Value = serde_json::from_str(CLI).unwrap();
        let (fwd, att) = from_cli(&cli);
        assert_eq!(att.validate(), Ok(()));
        let file = fwd.attentions_json(&att);
        assert_eq!(file.name, "albert-lens-attentions.json");
        let ours: Value = serde_json::from_str(&file.body).unwrap();
        assert_eq!(ours, cli, "same keys, shapes and numbers as `albert fill --json --attentions`");
    }

    #[test]
    fn predictions_json_is_the_clis_without_attentions() {
        let cli: Value = serde_json::from_str(CLI).unwrap();
        let (fwd, _) = from_cli(&cli);
        let ours: Value = serde_json::from_str(&fwd.predictions_json().body).unwrap();
        let mut want = cli.clone();
        let obj = want.as_object_mut().unwrap();
        obj.remove("attentions");
        obj.remove("attention_groups");
        assert_eq!(ours, want);
        let keys: Vec<&String> = ours.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["device", "ids", "masks", "model", "token_type_ids", "tokens"]);
    }

    #[test]
    fn csv_has_a_header_and_a_row_per_prediction_with_quoting() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"", "a formula is defused");
        assert_eq!(csv_field("@sum"), "'@sum");
        assert_eq!((csv_field("-"), csv_field("+")), ("-".to_string(), "+".to_string()), "lone signs are plain tokens");
        let pick = |token: &str, id, prob| Pick { token: token.into(), display: format!(" {}", token.trim_start_matches('▁')), id, prob };
        let fwd = Forward {
            model: Value::Null,
            device: "cpu".into(),
            tokens: vec![],
            ids: vec![],
            type_ids: vec![],
            masks: vec![
                MaskPicks { position: 2, top_k: vec![pick("▁,", 7, 0.5), pick("\"", 8, 0.25)] },
                MaskPicks { position: 5, top_k: vec![pick("▁paris", 9, 0.125)] },
            ],
        };
        let csv = fwd.predictions_csv();
        assert_eq!((csv.name.as_str(), csv.mime), ("albert-lens-predictions.csv", "text/csv"));
        let lines: Vec<&str> = csv.body.split("\r\n").collect();
        assert_eq!(lines, [
            "mask,position,rank,token,display,id,prob",
            "1,2,1,\"▁,\",\",\",7,0.5",
            "1,2,2,\"\"\"\",\"\"\"\",8,0.25",
            "2,5,1,▁paris,paris,9,0.125",
            "",
        ]);
    }
}
