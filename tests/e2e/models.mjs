// Models the browser tests write for themselves from the tiny fixture (once, into `generated`):
// one with room for 128 tokens, and one of albert-base-v2's shapes with random weights; and the
// fixtures' file sizes. No browser here: plain files in Hugging Face layout.
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixtures, generated } from './paths.mjs';

/**
 * The tiny fixture with room for 128 tokens (the fixtures read at most 64): its position
 * embeddings are repeated to 128 rows and config.json says so. Written once to `generated`/long.
 */
export function longModelDir() {
  const dir = join(generated, 'long');
  if (existsSync(join(dir, 'model.safetensors'))) return dir;
  mkdirSync(dir, { recursive: true });
  const src = join(fixtures, 'tiny');
  const config = JSON.parse(readFileSync(join(src, 'config.json'), 'utf8'));
  const oldLen = config.max_position_embeddings;
  config.max_position_embeddings = 128;
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(src, f), join(dir, f));
  const { header, data } = readSafetensors(join(src, 'model.safetensors'));
  const out = {};
  const parts = [];
  let offset = 0;
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') {
      out[name] = t;
      continue;
    }
    let bytes = data.subarray(t.data_offsets[0], t.data_offsets[1]);
    let shape = t.shape;
    if (name.endsWith('position_embeddings.weight')) {
      const row = bytes.length / oldLen;
      bytes = Buffer.concat(Array.from({ length: 128 }, (_, i) => bytes.subarray((i % oldLen) * row, (i % oldLen + 1) * row)));
      shape = [128, shape[1]];
    }
    out[name] = { dtype: t.dtype, shape, data_offsets: [offset, offset + bytes.length] };
    offset += bytes.length;
    parts.push(bytes);
  }
  writeSafetensors(join(dir, 'model.safetensors'), out, parts);
  return dir;
}

/** safetensors: u64 header length, the JSON header (padded to 8 bytes), then the tensors' bytes. */
function readSafetensors(path) {
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  return { header: JSON.parse(buf.subarray(8, 8 + n).toString('utf8')), data: buf.subarray(8 + n) };
}

function writeSafetensors(path, header, parts) {
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  writeFileSync(path, Buffer.concat([len, Buffer.from(json), ...parts]));
}

/**
 * albert-base-v2's shapes (V 30000, E 128, H 768, 12 heads, FFN 3072, 12 layers, one shared
 * group, 512 positions) with random weights (std 0.02, LayerNorms at 1 and 0, f32: 47 MB) and
 * the tiny fixture's tokenizer, written once to `generated`/base-shaped: the size of work a
 * real checkpoint gives the page, without the Hub. The tensor list is the tiny fixture's, each
 * dimension mapped from tiny's config to base's.
 */
export function baseShapedModelDir() {
  const dir = join(generated, 'base-shaped');
  if (existsSync(join(dir, 'model.safetensors'))) return dir;
  mkdirSync(dir, { recursive: true });
  const src = join(fixtures, 'tiny');
  const tiny = JSON.parse(readFileSync(join(src, 'config.json'), 'utf8'));
  const base = { vocab_size: 30000, embedding_size: 128, hidden_size: 768, num_attention_heads: 12, intermediate_size: 3072, num_hidden_layers: 12, max_position_embeddings: 512 };
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...tiny, ...base, initializer_range: 0.02 }, null, 2));
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(src, f), join(dir, f));
  const dims = new Map(['vocab_size', 'embedding_size', 'hidden_size', 'intermediate_size', 'max_position_embeddings'].map((k) => [tiny[k], base[k]]));
  const { header } = readSafetensors(join(src, 'model.safetensors'));
  let seed = 12345;
  const uniform = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) - 0.5;
  const out = { __metadata__: { format: 'pt' } };
  const parts = [];
  let offset = 0;
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const shape = t.shape.map((d) => (d === 2 && name.includes('token_type') ? 2 : dims.get(d) ?? d));
    const n = shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(n);
    const norm = /LayerNorm|layer_norm/.test(name);
    // std 0.02 (uniform on ±0.02·√3); LayerNorm weights 1, every bias and LayerNorm bias 0.
    if (norm && name.endsWith('weight')) values.fill(1);
    else if (!name.endsWith('bias')) for (let i = 0; i < n; i++) values[i] = uniform() * 0.02 * 2 * Math.sqrt(3);
    const bytes = Buffer.from(values.buffer);
    out[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + bytes.length] };
    offset += bytes.length;
    parts.push(bytes);
  }
  writeSafetensors(join(dir, 'model.safetensors'), out, parts);
  return dir;
}

/** Bytes of a fixture file. */
export function fixtureSize(model, file) {
  return readFileSync(join(fixtures, model, file)).length;
}
