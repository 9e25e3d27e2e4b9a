//! Broken model folders: truncated or foreign weights, wrong shapes, bad configs, missing files and tokenizers.

use super::*;

#[test]
fn missing_model_folder() {
    assert_load_fails("/nonexistent/albert-model", &["/nonexistent/albert-model", "does not exist"]);
    let file = fixture("tiny").join("config.json");
    assert_load_fails(file.to_str().unwrap(), &["not a folder"]);
}

#[test]
fn truncated_weights() {
    let dir = TempDir::copy_of("tiny");
    let bytes = std::fs::read(dir.file("model.safetensors")).unwrap();
    dir.write("model.safetensors", &bytes[..bytes.len() / 2]);
    assert_load_fails(&dir.str(), &["model.safetensors", "not a valid safetensors file", "truncated"]);
    // Cut inside the 8-byte header length, and empty.
    dir.write("model.safetensors", &bytes[..5]);
    assert_load_fails(&dir.str(), &["model.safetensors", "not a valid safetensors file"]);
    dir.write("model.safetensors", b"");
    assert_load_fails(&dir.str(), &["model.safetensors", "not a valid safetensors file"]);
}

#[test]
fn html_page_as_weights() {
    let dir = TempDir::copy_of("tiny");
    dir.write("model.safetensors", "<!DOCTYPE html>\n<html><body><h1>404 Not Found</h1></body></html>\n");
    assert_load_fails(&dir.str(), &["model.safetensors", "not a valid safetensors file", "HTML"]);
}

#[test]
fn tensor_shape_mismatch_names_tensor_and_shapes() {
    let dir = TempDir::copy_of("tiny");
    dir.edit_config(|c| {
        c.insert("intermediate_size".into(), 50.into());
    });
    assert_load_fails(&dir.str(), &["albert.encoder.albert_layer_groups.0.albert_layers.0.ffn.weight", "[48, 32]", "[50, 32]", "config.json"]);

    let dir = TempDir::copy_of("tiny");
    dir.edit_config(|c| {
        c.insert("embedding_size".into(), 20.into());
    });
    assert_load_fails(&dir.str(), &["albert.embeddings.word_embeddings.weight", "[1000, 16]", "[1000, 20]"]);

    // A shape that differs only in the layer blocks (hidden size 32 → 36 with 4 heads).
    let dir = TempDir::copy_of("tiny");
    dir.edit_config(|c| {
        c.insert("hidden_size".into(), 36.into());
    });
    assert_load_fails(&dir.str(), &["embedding_hidden_mapping_in.weight", "[32, 16]", "[36, 16]"]);
}

#[test]
fn vocab_size_changed() {
    for v in [1200, 900] {
        let dir = TempDir::copy_of("tiny");
        dir.edit_config(|c| {
            c.insert("vocab_size".into(), v.into());
        });
        assert_load_fails(&dir.str(), &["word_embeddings.weight", "[1000, 16]", &format!("[{v}, 16]")]);
    }
}

#[test]
fn invalid_configs() {
    let cases: Vec<(&str, Value, Vec<&str>)> = vec![
        ("num_attention_heads", 5.into(), vec!["hidden_size 32", "num_attention_heads 5", "not a multiple"]),
        ("num_hidden_groups", 2.into(), vec!["num_hidden_layers 3", "num_hidden_groups 2", "not a multiple"]),
        ("hidden_act", "gelu_foo".into(), vec!["unknown hidden_act", "gelu_foo", "gelu_new"]),
        ("model_type", "bert".into(), vec!["model_type", "\"bert\"", "not an ALBERT checkpoint"]),
        ("hidden_size", "big".into(), vec!["config.json", "wrong type"]),
        ("num_attention_heads", 0.into(), vec!["num_attention_heads is 0"]),
        ("position_embedding_type", "relative_key".into(), vec!["position_embedding_type", "not supported"]),
    ];
    for (key, value, needles) in cases {
        let dir = TempDir::copy_of("tiny");
        dir.edit_config(|c| {
            c.insert(key.into(), value.clone());
        });
        let mut n = vec!["config.json"];
        n.extend(needles);
        assert_load_fails(&dir.str(), &n);
        // bench loads the same way.
        albert(&["bench", "--model", &dir.str(), "--seq", "4", "--device", "cpu", "--runs", "1"]).fails(3, &n);
    }
}

#[test]
fn config_not_json_or_missing() {
    let dir = TempDir::copy_of("tiny");
    dir.write("config.json", "{ \"model_type\": \"albert\", ");
    assert_load_fails(&dir.str(), &["config.json", "not valid JSON"]);
    dir.write("config.json", "[1, 2, 3]");
    assert_load_fails(&dir.str(), &["config.json", "expected a JSON object", "array"]);
    dir.write("config.json", [0xff, 0xfe, 0x00, 0x7b]);
    assert_load_fails(&dir.str(), &["config.json", "UTF-8"]);
    dir.remove("config.json");
    assert_load_fails(&dir.str(), &["config.json not found"]);
}

#[test]
fn missing_weights() {
    let dir = TempDir::copy_of("tiny");
    dir.remove("model.safetensors");
    assert_load_fails(&dir.str(), &["no weights found", "model.safetensors", "model.safetensors.index.json"]);
    // A PyTorch checkpoint alone is named as unsupported, with the way out.
    dir.write("pytorch_model.bin", b"PK\x03\x04 not read");
    assert_load_fails(&dir.str(), &["no weights found", ".bin", "safe_serialization=True"]);
}

#[test]
fn sharded_index_naming_a_missing_shard() {
    let dir = TempDir::copy_of("sharded");
    dir.remove("model-00003-of-00004.safetensors");
    assert_load_fails(&dir.str(), &["shard", "model-00003-of-00004.safetensors", "not found"]);

    // An index that names a shard that was never written.
    let dir = TempDir::copy_of("sharded");
    let index = std::fs::read_to_string(dir.file("model.safetensors.index.json")).unwrap();
    dir.write("model.safetensors.index.json", index.replacen("model-00004-of-00004.safetensors", "model-00005-of-00005.safetensors", 1));
    assert_load_fails(&dir.str(), &["model-00005-of-00005.safetensors", "not found"]);

    // An index that is not an index.
    dir.write("model.safetensors.index.json", "{\"metadata\": {}}");
    assert_load_fails(&dir.str(), &["model.safetensors.index.json", "weight_map"]);
    // A shard name that climbs out of the folder.
    dir.write("model.safetensors.index.json", r#"{"weight_map": {"a": "../../etc/passwd"}}"#);
    assert_load_fails(&dir.str(), &["model.safetensors.index.json", "plain file name"]);
}

#[test]
fn missing_or_broken_tokenizer() {
    let dir = TempDir::copy_of("tiny");
    dir.remove("tokenizer.json");
    dir.remove("spiece.model");
    fill(&dir.str(), SINGLE, "cpu", &[]).fails(3, &["tokenizer", "tokenizer.json", "spiece.model"]);
    // info reads no tokenizer text and still describes the weights.
    assert_eq!(albert(&["info", "--model", &dir.str(), "--json"]).json()["tokenizer"], "none");

    let dir = TempDir::copy_of("tiny");
    dir.write("tokenizer.json", "{}");
    fill(&dir.str(), SINGLE, "cpu", &[]).fails(3, &["tokenizer", "tokenizer.json"]);

    let dir = TempDir::copy_of("spiece_only");
    let sp = std::fs::read(dir.file("spiece.model")).unwrap();
    dir.write("spiece.model", &sp[..100]);
    fill(&dir.str(), SINGLE, "cpu", &[]).fails(3, &["spiece.model", "truncated"]);
}
