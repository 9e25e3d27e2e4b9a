//! Reads the dtype of a safetensors file from its header alone, so WGSL pipelines for the right
//! weight type can be compiled (with a status line) before the weights are parsed and uploaded.

use albert::DType;

/// The storage dtype the engine will use for these files: F16 when every floating-point tensor is
/// F16, else F32 (BF16 and mixed checkpoints are widened), as `AlbertWeights::from_checkpoint`.
/// `None` when no header could be read.
pub fn weights_dtype<'a>(files: impl IntoIterator<Item = &'a [u8]>) -> Option<DType> {
    let mut any = false;
    let mut all_f16 = true;
    for bytes in files {
        for dtype in header_dtypes(bytes)? {
            match dtype.as_str() {
                "F16" => any = true,
                "F32" | "BF16" | "F64" => {
                    any = true;
                    all_f16 = false;
                }
                _ => {}
            }
        }
    }
    any.then_some(if all_f16 { DType::F16 } else { DType::F32 })
}

/// The `dtype` of every tensor in a safetensors header.
fn header_dtypes(bytes: &[u8]) -> Option<Vec<String>> {
    let len = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?) as usize;
    let header = bytes.get(8..8usize.checked_add(len)?)?;
    let v: serde_json::Value = serde_json::from_slice(header).ok()?;
    Some(
        v.as_object()?
            .iter()
            .filter(|(k, _)| k.as_str() != "__metadata__")
            .filter_map(|(_, t)| t.get("dtype")?.as_str().map(str::to_string))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(dtypes: &[&str]) -> Vec<u8> {
        let mut h = serde_json::Map::new();
        h.insert("__metadata__".into(), serde_json::json!({"format": "pt"}));
        for (i, d) in dtypes.iter().enumerate() {
            h.insert(format!("t{i}"), serde_json::json!({"dtype": d, "shape": [1], "data_offsets": [0, 2]}));
        }
        let header = serde_json::to_vec(&h).unwrap();
        let mut out = (header.len() as u64).to_le_bytes().to_vec();
        out.extend(header);
        out.extend([0u8; 4]);
        out
    }

    #[test]
    fn sniffs_dtypes() {
        let f16 = file(&["F16", "F16", "I64"]);
        let f32 = file(&["F32"]);
        let bf16 = file(&["BF16"]);
        assert_eq!(weights_dtype([f16.as_slice()]), Some(DType::F16));
        assert_eq!(weights_dtype([f32.as_slice()]), Some(DType::F32));
        assert_eq!(weights_dtype([bf16.as_slice()]), Some(DType::F32));
        assert_eq!(weights_dtype([f16.as_slice(), f32.as_slice()]), Some(DType::F32));
        assert_eq!(weights_dtype([&b"junk"[..]]), None);
        assert_eq!(weights_dtype([file(&["I64"]).as_slice()]), None);
    }

    #[test]
    fn sniffs_the_fixtures() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/crates/albert/tests/fixtures");
        let tiny = std::fs::read(format!("{dir}/tiny/model.safetensors")).unwrap();
        let half = std::fs::read(format!("{dir}/f16/model.safetensors")).unwrap();
        assert_eq!(weights_dtype([tiny.as_slice()]), Some(DType::F32));
        assert_eq!(weights_dtype([half.as_slice()]), Some(DType::F16));
    }
}
