// Trunk post_build hook (see Trunk.toml): finishes the staged dist/ before Trunk moves it in place.
//
//   1. Copies the embedded default model, assets/model/ (Hugging Face layout), to model/ and writes
//      model/manifest.json: its name, every file's size and SHA-256, and its held-out scores
//      (from assets/model/eval.json). The app compares its cached copy with this manifest, so a
//      changed model is downloaded again. A build without
//      assets/model still succeeds: the page then says that no default model is embedded.
//   2. Fills the service worker's list of app-shell files (the hashed JS/wasm/CSS names of this
//      build) and a version derived from their contents, so a new build replaces the old shell.
//
// Environment (set by Trunk): TRUNK_STAGING_DIR, TRUNK_SOURCE_DIR.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const staging = process.env.TRUNK_STAGING_DIR;
const source = process.env.TRUNK_SOURCE_DIR || process.cwd();
if (!staging) {
  console.error('trunk-post-build: TRUNK_STAGING_DIR is not set (run through trunk build)');
  process.exit(1);
}

const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

// --- 1. the embedded model ---
const modelSrc = resolve(source, 'assets/model');
const modelDst = join(staging, 'model');
rmSync(modelDst, { recursive: true, force: true });
// Only what the app may read (and the model card): no test goldens or training leftovers.
const MODEL_FILE = /^(?:config\.json|model(?:-\d+-of-\d+)?\.safetensors|model\.safetensors\.index\.json|tokenizer\.json|tokenizer_config\.json|spiece\.model|special_tokens_map\.json|README\.md)$/;
if (existsSync(join(modelSrc, 'config.json'))) {
  mkdirSync(modelDst, { recursive: true });
  for (const f of readdirSync(modelSrc)) {
    if (MODEL_FILE.test(f) && statSync(join(modelSrc, f)).isFile()) copyFileSync(join(modelSrc, f), join(modelDst, f));
  }
  const files = readdirSync(modelDst)
    .filter((f) => statSync(join(modelDst, f)).isFile() && f !== 'manifest.json')
    .sort()
    .map((name) => {
      const buf = readFileSync(join(modelDst, name));
      return { name, size: buf.length, sha256: sha256(buf) };
    });
  let name = '';
  const readme = join(modelDst, 'README.md');
  if (existsSync(readme)) {
    const text = readFileSync(readme, 'utf8');
    // A model card's YAML front matter may precede the first heading.
    const heading = text.replace(/^---\n[\s\S]*?\n---\n/, '').match(/^#\s+(.+)$/m);
    if (heading) name = heading[1].trim();
  }
  // The held-out scores the card reports (train/evaluate.py's eval.json, not copied itself): the
  // app prints them beside its answers. Absent or unreadable: the manifest has none.
  let heldout = null;
  const evalPath = join(modelSrc, 'eval.json');
  if (existsSync(evalPath)) {
    try {
      const e = JSON.parse(readFileSync(evalPath, 'utf8'));
      const ok = (x) => typeof x === 'number' && x >= 0 && x <= 1;
      if (Number.isInteger(e.examples) && e.examples > 0 && ok(e.single_token_mlm_top1) && ok(e.sop_acc)) {
        heldout = { examples: e.examples, masked_top1: e.single_token_mlm_top1, sop: e.sop_acc };
        // SOP on the pairs that meet between sentences (evaluate.py since session 21): what the
        // sentence-order card quotes when the evaluation has no two-sentence pairs (below).
        const s = e.sop_by_split?.sentences;
        if (s && Number.isInteger(s.examples) && s.examples > 0 && s.examples <= e.examples && ok(s.sop_acc)) {
          heldout.sop_sentences = { examples: s.examples, sop: s.sop_acc };
        } else if (e.sop_by_split) {
          console.warn('trunk-post-build: assets/model/eval.json has sop_by_split but no plausible sop_by_split.sentences (expected 1 to examples pairs and sop_acc in [0, 1]): the manifest quotes SOP over all pairs');
        }
        // SOP on two single consecutive sentences, as the app's view gets them, and what the
        // segments' lengths alone score on the pairs above (evaluate.py since session 24).
        const p = e.sop_sentence_pairs;
        if (p && Number.isInteger(p.examples) && p.examples > 0 && ok(p.sop_acc)) {
          heldout.sop_pairs = { examples: p.examples, sop: p.sop_acc };
        } else if (p) {
          console.warn('trunk-post-build: assets/model/eval.json has sop_sentence_pairs but not a plausible one (expected examples > 0 and sop_acc in [0, 1]): the card quotes the longer pairs');
        }
        if (ok(e.sop_length_rule)) heldout.sop_length_rule = e.sop_length_rule;
      } else {
        console.warn('trunk-post-build: assets/model/eval.json lacks examples, single_token_mlm_top1 or sop_acc: no held-out scores in the manifest');
      }
    } catch (err) {
      console.warn(`trunk-post-build: assets/model/eval.json is not JSON (${err.message}): no held-out scores in the manifest`);
    }
  }
  writeFileSync(join(modelDst, 'manifest.json'), JSON.stringify({ name, files, heldout }, null, 2) + '\n');
  const bytes = files.reduce((a, f) => a + f.size, 0);
  console.log(`trunk-post-build: embedded model "${name || 'assets/model'}" (${files.length} files, ${bytes} bytes)`);
} else {
  console.log('trunk-post-build: no assets/model/config.json: this build has no embedded default model');
}

// --- 2. the service worker's shell list ---
const swPath = join(staging, 'sw.js');
if (existsSync(swPath)) {
  const shell = readdirSync(staging)
    .filter((f) => f !== 'sw.js' && statSync(join(staging, f)).isFile())
    .filter((f) => /\.(?:html|js|wasm|css|svg|ico|png|webmanifest)$/.test(f))
    .sort();
  const hash = createHash('sha256');
  for (const f of shell) hash.update(f).update(readFileSync(join(staging, f)));
  const version = hash.digest('hex').slice(0, 16);
  const sw = readFileSync(swPath, 'utf8')
    .replace('/*SHELL_FILES*/ []', JSON.stringify(shell))
    .replace("/*VERSION*/ 'dev'", JSON.stringify(version));
  writeFileSync(swPath, sw);
  console.log(`trunk-post-build: service worker shell ${version}: ${shell.join(', ')}`);
}
