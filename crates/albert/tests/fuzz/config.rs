//! Target `config.json`: HF's keys with hostile values, and structural edits of the real configs.

use super::*;

/// The fields of config.json, for targeted edits.
const CONFIG_KEYS: &[&str] = &[
    "model_type", "vocab_size", "embedding_size", "hidden_size", "num_hidden_layers", "num_hidden_groups",
    "num_attention_heads", "intermediate_size", "inner_group_num", "hidden_act", "max_position_embeddings",
    "type_vocab_size", "layer_norm_eps", "position_embedding_type", "pad_token_id", "torch_dtype", "architectures",
];

#[derive(Debug, Clone)]
enum ConfigInput {
    /// A seed config with fields set to small, valid-looking or hostile values, or removed.
    Fields { seed: Index, set: Vec<(Index, Option<Value>)> },
    /// A seed config as bytes, edited.
    Bytes(Mutated),
    /// Any text.
    Text(String),
}

fn small_size() -> impl Strategy<Value = Value> {
    prop_oneof![(1u64..=64).prop_map(Value::from), prop::sample::select(vec![1u64, 2, 4, 8, 16, 32, 48]).prop_map(Value::from)]
}

fn config_input() -> impl Strategy<Value = ConfigInput> {
    let field_value = prop_oneof![3 => small_size().prop_map(Some), 2 => hostile_json().prop_map(Some), 1 => Just(None)];
    prop_oneof![
        4 => (any::<Index>(), prop::collection::vec((any::<Index>(), field_value), 0..8)).prop_map(|(seed, set)| ConfigInput::Fields { seed, set }),
        2 => mutated(6).prop_map(ConfigInput::Bytes),
        1 => any::<String>().prop_map(ConfigInput::Text),
    ]
}

fn config_text(input: &ConfigInput) -> String {
    let seeds = seeds_of("config.json");
    match input {
        ConfigInput::Fields { seed, set } => {
            let mut v: Value = serde_json::from_slice(&seeds[seed.index(seeds.len())].1).unwrap();
            let m = v.as_object_mut().unwrap();
            for (k, val) in set {
                let key = CONFIG_KEYS[k.index(CONFIG_KEYS.len())];
                match val {
                    Some(x) => m.insert(key.to_string(), x.clone()),
                    None => m.remove(key),
                };
            }
            v.to_string()
        }
        ConfigInput::Bytes(mutation) => String::from_utf8_lossy(&mutation.bytes(seeds).1).into_owned(),
        ConfigInput::Text(s) => s.clone(),
    }
}

/// The properties of one config.json: parsing never panics and admits only configs within the
/// limits; an admitted small one builds random weights and runs a CPU forward without a panic.
fn check_config(text: &str) -> Result<(), TestCaseError> {
    let t = Instant::now();
    let Ok(c) = Config::from_json(text) else { return check_time(t, text.len(), "Config::from_json") };
    accepted();
    prop_assert!(c.validate().is_ok());
    for (name, get, max, _) in albert::config::LIMITS {
        prop_assert!(get(&c) <= max, "{name} = {} passed its limit {max}", get(&c));
    }
    prop_assert_eq!(c.head_dim() * c.num_attention_heads, c.hidden_size);
    let p = c.parameter_counts();
    prop_assert!(p.total as u64 <= albert::config::MAX_PARAMETERS);
    // What it says of itself survives a round trip (layer_norm_eps to within serde_json's float
    // parsing, which is not correctly rounded without its float_roundtrip feature: 1 ulp).
    let again = Config::from_json(&serde_json::to_string(&c).unwrap());
    let same = |a: &Config| {
        let eps_close = (a.layer_norm_eps - c.layer_norm_eps).abs() <= 1e-15 * c.layer_norm_eps.abs();
        eps_close && Config { layer_norm_eps: c.layer_norm_eps, ..a.clone() } == c
    };
    prop_assert!(again.as_ref().is_ok_and(same), "round trip: {again:?}");
    // A small one runs: shapes that pass validation must not panic anywhere in a forward.
    if p.total <= 200_000 && c.num_hidden_layers * c.inner_group_num <= 16 {
        let w = AlbertWeights::random(&c, 7, DType::F32).map_err(|e| TestCaseError::fail(format!("random weights: {e}")))?;
        let m = albert::cpu::AlbertForMaskedLM::new(&c, &w).map_err(|e| TestCaseError::fail(format!("cpu model: {e}")))?;
        let n = c.max_position_embeddings.min(5);
        let ids: Vec<u32> = (0..n).map(|i| ((i * 7919) % c.vocab_size) as u32).collect();
        let types = (0..n).map(|i| (i % c.type_vocab_size) as u32).collect();
        let req = Request { logits: LogitsRequest::All, attentions: true, drift: true, lens: true, depth: Some(c.max_depth()), ..Default::default() };
        let out = m.forward(&Batch::single(ids, types), &req).map_err(|e| TestCaseError::fail(format!("forward: {e}")))?;
        prop_assert_eq!(out.logits.map(|l| l.len()), Some(n * c.vocab_size));
    }
    check_time(t, text.len(), "config.json")
}

#[test]
fn fuzz_config_json() {
    fuzz("config.json", config_input(), |input| check_config(&config_text(&input)));
}
