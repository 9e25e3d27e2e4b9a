//! Models over HTTP (a loopback server in the hub's layout): the same answers as from folders, and every way a server can fail.

use super::*;

fn same_fill_over_http(name: &str) {
    let server = Server::serve(fixture(name));
    let folder = fixture_str(name);
    for url in [server.url(), format!("{}/", server.url())] {
        for dev in devices() {
            let a = fill_json(&folder, PAIR, dev, &["--logits"]);
            let b = fill_json(&url, PAIR, dev, &["--logits"]);
            assert_eq!(b["model"]["source"], url.as_str());
            for key in ["tokens", "ids", "token_type_ids", "masks"] {
                assert_eq!(a[key], b[key], "{name} on {dev}: {key} from {url} differs from the folder");
            }
            assert_eq!(a["model"]["parameters"], b["model"]["parameters"]);
        }
        let a = albert(&["info", "--model", &folder, "--json"]).json();
        let b = albert(&["info", "--model", &url, "--json"]).json();
        assert_eq!(a, b, "{name}: info over HTTP");
        let human = albert(&["info", "--model", &url]).ok().to_string();
        assert!(human.contains(&format!("model: {url}")), "{human}");
    }
    let requests = server.requests();
    assert!(requests.iter().all(|r| r.starts_with("GET /")), "{requests:?}");
    assert!(requests.contains(&"GET /config.json".to_string()), "{requests:?}");
    assert!(!requests.iter().any(|r| r.contains("golden")), "only model files are fetched: {requests:?}");
}

#[test]
fn http_tiny() {
    same_fill_over_http("tiny");
}

#[test]
fn http_sharded_fetches_every_shard() {
    same_fill_over_http("sharded");
    let server = Server::serve(fixture("sharded"));
    albert(&["info", "--model", &server.url()]).ok();
    let r = server.requests();
    for i in 1..=4 {
        let shard = format!("GET /model-0000{i}-of-00004.safetensors");
        assert_eq!(r.iter().filter(|x| **x == shard).count(), 1, "{shard} once: {r:?}");
    }
    assert!(!r.contains(&"GET /model.safetensors".to_string()), "the index wins: {r:?}");
}

#[test]
fn http_spiece_only_falls_back_to_spiece_model() {
    same_fill_over_http("spiece_only");
    let server = Server::serve(fixture("spiece_only"));
    fill(&server.url(), SINGLE, "cpu", &[]).ok();
    let r = server.requests();
    assert!(r.contains(&"GET /tokenizer.json".to_string()) && r.contains(&"GET /spiece.model".to_string()), "{r:?}");
}

#[test]
fn http_no_head_info_works() {
    let server = Server::serve(fixture("no_head"));
    let v = albert(&["info", "--model", &server.url(), "--json"]).json();
    assert_eq!(v["architecture"], "AlbertModel");
    fill(&server.url(), SINGLE, "cpu", &[]).fails(3, &["no masked-LM head"]);
}

#[test]
fn http_unreachable_server() {
    let url = format!("http://127.0.0.1:{}", closed_port());
    fill(&url, SINGLE, "cpu", &[]).fails(3, &["cannot fetch", &format!("{url}/config.json")]);
    albert(&["info", "--model", &url]).fails(3, &["cannot fetch"]);
    albert(&["bench", "--model", &url, "--seq", "4", "--device", "cpu"]).fails(3, &["cannot fetch"]);
}

#[test]
fn http_404_for_config_json() {
    let empty = TempDir::new("empty-site");
    let server = Server::serve(empty.path());
    fill(&server.url(), SINGLE, "cpu", &[]).fails(3, &["config.json not found"]);
    albert(&["info", "--model", &server.url()]).fails(3, &["config.json not found"]);
    // A wrong URL fails fast: nothing past config.json is asked for.
    assert_eq!(server.requests(), ["GET /config.json", "GET /config.json"]);
}

#[test]
fn http_html_page_instead_of_files() {
    // A base URL that answers every file with an HTML page (e.g. a web page, not "resolve/main").
    let html = b"<!DOCTYPE html><html><head><title>Hugging Face</title></head><body>model page</body></html>".to_vec();
    let dir = TempDir::copy_of("tiny");
    let replies = HashMap::from([("model.safetensors".to_string(), Reply::Status(200, html.clone()))]);
    let server = Server::with_replies(dir.path(), replies);
    fill(&server.url(), SINGLE, "cpu", &[]).fails(3, &["model.safetensors", "not a valid safetensors file"]);
    let replies = HashMap::from([("config.json".to_string(), Reply::Status(200, html))]);
    let server = Server::with_replies(dir.path(), replies);
    fill(&server.url(), SINGLE, "cpu", &[]).fails(3, &["config.json", "not valid JSON"]);
    assert_eq!(server.requests(), ["GET /config.json"], "weights are not fetched after a bad config");
}

#[test]
fn http_server_error_and_broken_download() {
    let dir = TempDir::copy_of("tiny");
    let replies = HashMap::from([("model.safetensors".to_string(), Reply::Status(500, b"oops".to_vec()))]);
    let server = Server::with_replies(dir.path(), replies);
    fill(&server.url(), SINGLE, "cpu", &[]).fails(3, &["model.safetensors", "HTTP 500"]);

    let bytes = std::fs::read(dir.file("model.safetensors")).unwrap();
    let replies = HashMap::from([(
        "model.safetensors".to_string(),
        Reply::ShortBody { declared: bytes.len(), body: bytes[..bytes.len() / 2].to_vec() },
    )]);
    let server = Server::with_replies(dir.path(), replies);
    fill(&server.url(), SINGLE, "cpu", &[]).fails(3, &["model.safetensors"]);
}

#[test]
fn http_missing_shard() {
    let dir = TempDir::copy_of("sharded");
    dir.remove("model-00003-of-00004.safetensors");
    let server = Server::serve(dir.path());
    fill(&server.url(), SINGLE, "cpu", &[]).fails(3, &["model-00003-of-00004.safetensors", "not found", "model.safetensors.index.json"]);
    albert(&["info", "--model", &server.url()]).fails(3, &["model-00003-of-00004.safetensors", "not found"]);
}
