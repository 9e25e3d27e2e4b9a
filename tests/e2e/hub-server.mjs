// A loopback stand-in for the Hugging Face Hub, behaving as browsers meet it (no dependencies).
//
// Two origins, as on the real Hub (huggingface.co and its CDN):
// - the hub: `/<owner>/<name>/resolve/main/<file>` answers large files (LFS: *.safetensors,
//   *.bin, spiece.model, or anything over `lfsBytes`) with a 302 to the CDN and the
//   `X-Linked-Size` / `X-Linked-Etag` headers, small files with 200 and an ETag; a missing file is
//   404 with a JSON body and `X-Error-Code: EntryNotFound`; a gated repo is 401 with
//   `X-Error-Code: GatedRepo`; an unknown repo is 401 with `X-Error-Code: RepoNotFound` (what the
//   Hub answers without a token). `/api/models/<owner>/<name>` gives the repo's files with sizes
//   (`siblings[].rfilename`, `.size`), as the Hub's model API does with `?blobs=true`.
// - the CDN: the bytes, with CORS, `Accept-Ranges` and `Range` (206, `Content-Range`).
// Both send CORS headers on every answer (the Hub does), so a cross-origin-isolated page can read
// the status, the error code and the sizes.
//
//   const hub = await startHub({ repos: { 'albert/albert-base-v2': dir }, gated: ['albert/x'] });
//   hub.url       // 'http://127.0.0.1:PORT' (no trailing slash, like https://huggingface.co)
//   hub.log       // every request: { origin: 'hub' | 'cdn', method, path, range, file, status }
//   hub.fault('model.safetensors', [{ cut: 5000 }, { ignoreRange: true }]);
//   hub.fault('model.safetensors', [{ hold: promise }]);  // a sixteenth, then the rest once it resolves
//   await hub.close();
//
// Faults misbehave on the CDN's next answers for a file, one per answer, as broken networks do:
// `{ cut: n }` sends n body bytes and closes the connection; `{ stall: n }` sends n bytes and
// then nothing (the connection stays open); `{ ignoreRange: true }` answers 200 with the whole
// file although a Range was asked; `{ announce: n }` claims `Content-Length: n` and sends a
// little.
//
// `node tests/e2e/hub-server.mjs <owner/name>=<dir> ...` serves repos by hand (prints the URL).
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const CORS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers':
    'Content-Length, Content-Range, Accept-Ranges, ETag, X-Error-Code, X-Error-Message, X-Linked-Size, X-Linked-Etag, X-Repo-Commit',
  'Cross-Origin-Resource-Policy': 'cross-origin',
};
const LFS_NAMES = [/\.safetensors$/, /\.bin$/, /\.onnx$/, /^spiece\.model$/];

function listen(server, host) {
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(0, host, () => ok(server.address().port));
  });
}

function closer(server) {
  return () =>
    new Promise((r) => {
      server.close(() => r());
      server.closeAllConnections?.();
    });
}

/**
 * Closes a response's connection mid-body, as a dropped network does: after a pause, so the client
 * has read what was sent (a browser errors the body stream at once when the connection ends,
 * dropping bytes it has not handed to the page yet), and with a FIN, not a reset.
 */
function hangUp(res) {
  setTimeout(() => res.socket?.end(), 400);
}

/** The files of a repo folder (top level), with size and sha256 (computed once). */
function readRepo(dir) {
  const files = new Map();
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = statSync(path);
    if (!st.isFile()) continue;
    files.set(name, { name, path, size: st.size, sha256: null });
  }
  return files;
}

function sha256Of(f) {
  f.sha256 ??= createHash('sha256').update(readFileSync(f.path)).digest('hex');
  return f.sha256;
}

function errorJson(res, status, code, message, method) {
  const body = JSON.stringify({ error: message });
  res.writeHead(status, { ...CORS, 'Content-Type': 'application/json', 'X-Error-Code': code, 'X-Error-Message': message, 'Content-Length': Buffer.byteLength(body) });
  res.end(method === 'HEAD' ? undefined : body);
}

/**
 * Starts the hub and its CDN. `repos`: id → folder; `gated`: ids that answer 401 GatedRepo;
 * `lfsBytes`: files at least this big redirect even when their name is not an LFS one;
 * `chunkDelayMs`: the CDN sends bodies in 16 pieces with this pause (progress gets seen).
 */
export async function startHub({ repos = {}, gated = [], lfsBytes = 10 * 1024 * 1024, chunkDelayMs = 0, host = '127.0.0.1' } = {}) {
  const log = [];
  const faults = new Map(); // file name → [fault, …]
  const table = new Map(Object.entries(repos).map(([id, dir]) => [id, readRepo(resolve(dir))]));
  const blobs = new Map(); // sha256 → file, for the CDN

  const cdn = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    log.push({ origin: 'cdn', method: req.method, path: url.pathname, range: req.headers.range ?? null });
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { ...CORS, 'Access-Control-Allow-Methods': 'GET, HEAD', 'Access-Control-Allow-Headers': '*' }).end();
      return;
    }
    const f = blobs.get(url.pathname.split('/').pop());
    if (!f) {
      res.writeHead(404, { ...CORS, 'Content-Type': 'text/plain' }).end('no such blob\n');
      return;
    }
    const entry = log[log.length - 1];
    entry.file = f.name;
    const bytes = readFileSync(f.path);
    const fault = req.method === 'GET' ? faults.get(f.name)?.shift() : undefined;
    if (fault?.announce) {
      entry.status = 200;
      res.writeHead(200, { ...CORS, 'Content-Type': 'application/octet-stream', 'Content-Length': fault.announce });
      res.write(bytes.subarray(0, 1000));
      hangUp(res);
      return;
    }
    let start = 0;
    let end = bytes.length - 1;
    let status = 200;
    const headers = { ...CORS, 'Content-Type': 'application/octet-stream', 'Accept-Ranges': 'bytes', ETag: `"${f.sha256}"` };
    const m = fault?.ignoreRange ? null : /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
    if (m) {
      if (m[1] === '') {
        start = Math.max(0, bytes.length - Number(m[2]));
      } else {
        start = Number(m[1]);
        if (m[2] !== '') end = Math.min(end, Number(m[2]));
      }
      if (start > end || start >= bytes.length) {
        res.writeHead(416, { ...headers, 'Content-Range': `bytes */${bytes.length}` }).end();
        return;
      }
      status = 206;
      headers['Content-Range'] = `bytes ${start}-${end}/${bytes.length}`;
    }
    const body = bytes.subarray(start, end + 1);
    entry.status = status;
    res.writeHead(status, { ...headers, 'Content-Length': body.length });
    if (req.method === 'HEAD') return res.end();
    if (fault?.cut !== undefined) {
      res.write(body.subarray(0, fault.cut));
      hangUp(res);
      return;
    }
    if (fault?.stall !== undefined) {
      res.write(body.subarray(0, fault.stall));
      return; // nothing more: the client gives up (or close() ends it)
    }
    if (fault?.hold) {
      // The first sixteenth, then nothing until the test says so (a download "in progress" for
      // exactly as long as the test needs, however slow the machine).
      const first = Math.max(1, Math.ceil(body.length / 16));
      res.write(body.subarray(0, first));
      await fault.hold;
      return res.end(body.subarray(first));
    }
    if (chunkDelayMs > 0) {
      const step = Math.max(1, Math.ceil(body.length / 16));
      for (let i = 0; i < body.length; i += step) {
        if (!res.write(body.subarray(i, i + step))) await new Promise((r) => res.once('drain', r));
        await new Promise((r) => setTimeout(r, chunkDelayMs));
      }
      return res.end();
    }
    res.end(body);
  });
  const cdnPort = await listen(cdn, host);
  const cdnUrl = `http://${host}:${cdnPort}`;

  const hub = createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const path = decodeURIComponent(url.pathname);
    log.push({ origin: 'hub', method: req.method, path: path + url.search, range: req.headers.range ?? null });
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { ...CORS, 'Access-Control-Allow-Methods': 'GET, HEAD', 'Access-Control-Allow-Headers': '*' }).end();
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, CORS).end();
      return;
    }
    const api = /^\/api\/models\/([^/]+\/[^/]+)$/.exec(path);
    const resolveMatch = /^\/([^/]+\/[^/]+)\/resolve\/main\/(.+)$/.exec(path);
    const id = api?.[1] ?? resolveMatch?.[1];
    if (!id) {
      errorJson(res, 404, 'RepoNotFound', 'Not found', req.method);
      return;
    }
    if (gated.includes(id)) {
      errorJson(res, 401, 'GatedRepo', `Access to model ${id} is restricted. You must have access to it and be authenticated to access it. Please log in.`, req.method);
      return;
    }
    const files = table.get(id);
    if (!files) {
      errorJson(res, 401, 'RepoNotFound', `Repository Not Found for url: ${url.pathname}.`, req.method);
      return;
    }
    if (api) {
      const siblings = [...files].map(([name, f]) => ({ rfilename: name, size: f.size, ...(isLfs(name, f) ? { lfs: { sha256: sha256Of(f), size: f.size } } : {}) }));
      const body = JSON.stringify({ id, modelId: id, sha: 'main', private: false, gated: false, siblings });
      res.writeHead(200, { ...CORS, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    const name = resolveMatch[2];
    const f = files.get(name);
    if (!f) {
      errorJson(res, 404, 'EntryNotFound', `${name} does not exist on "main"`, req.method);
      return;
    }
    if (isLfs(name, f)) {
      const sha = sha256Of(f);
      blobs.set(sha, f);
      res.writeHead(302, {
        ...CORS,
        Location: `${cdnUrl}/repos/${id.replace('/', '--')}/${sha}`,
        'X-Linked-Size': String(f.size),
        'X-Linked-Etag': `"${sha}"`,
        'X-Repo-Commit': 'main',
        'Content-Length': 0,
      });
      res.end();
      return;
    }
    const bytes = readFileSync(f.path);
    res.writeHead(200, {
      ...CORS,
      'Content-Type': name.endsWith('.json') ? 'application/json' : 'application/octet-stream',
      'Content-Length': bytes.length,
      ETag: `"${createHash('sha1').update(bytes).digest('hex')}"`,
      'X-Repo-Commit': 'main',
    });
    res.end(req.method === 'HEAD' ? undefined : bytes);
  });
  const hubPort = await listen(hub, host);

  function isLfs(name, f) {
    return LFS_NAMES.some((re) => re.test(name)) || f.size >= lfsBytes;
  }

  const closeHub = closer(hub);
  const closeCdn = closer(cdn);
  return {
    url: `http://${host}:${hubPort}`,
    cdnUrl,
    log,
    // Replaces the file's pending faults: a test that fails before its download starts must not
    // hand its fault to the next test.
    fault: (file, list) => faults.set(file, [...list]),
    close: () => Promise.all([closeHub(), closeCdn()]),
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const repos = Object.fromEntries(process.argv.slice(2).map((a) => a.split('=')));
  const hub = await startHub({ repos });
  console.log(`hub at ${hub.url} (CDN ${hub.cdnUrl}) serving ${Object.keys(repos).join(', ') || 'nothing'}`);
}
