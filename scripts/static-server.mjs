// Tiny static file server for dist/ (no dependencies).
// Sends cross-origin-isolation headers (COOP/COEP) and correct MIME types,
// notably application/wasm so WebAssembly.instantiateStreaming works.
//
//   node scripts/static-server.mjs [dir=dist] [port=8080] [host=127.0.0.1]
//
// Also imported by the browser tests: startServer({ root, port: 0 }) picks a free port, and
// options serve extra folders, allow cross-origin reads, stream slowly, and log requests:
//   startServer({ root, mounts: { '/fixtures/': dir }, cors: true, chunkDelayMs: 40, log: [] })
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.safetensors': 'application/octet-stream',
  '.bin': 'application/octet-stream',
  '.woff2': 'font/woff2',
};

const HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-cache',
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Serves `root` (and `mounts`: URL prefix → folder). `cors` adds Access-Control-Allow-Origin: *
 * and a cross-origin resource policy (a model server for another origin). `chunkDelayMs` sends
 * .safetensors bodies in 16 pieces with that pause between them (progress bars get seen). Every
 * request's path (and query) is pushed to `log` when given, prefixed by its method unless GET.
 */
export function startServer({ root = 'dist', host = '127.0.0.1', port = 0, mounts = {}, cors = false, chunkDelayMs = 0, log } = {}) {
  const base = resolve(root);
  const headers = cors
    ? { ...HEADERS, 'Access-Control-Allow-Origin': '*', 'Cross-Origin-Resource-Policy': 'cross-origin', 'Access-Control-Expose-Headers': 'Content-Length, ETag' }
    : HEADERS;
  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url, 'http://x');
      // GETs as the path alone; other methods (a HEAD asking a size, a CORS preflight) say so.
      log?.push(req.method === 'GET' ? url.pathname + url.search : `${req.method} ${url.pathname}${url.search}`);
      if (req.method === 'OPTIONS' && cors) {
        res.writeHead(204, { ...headers, 'Access-Control-Allow-Methods': 'GET, HEAD', 'Access-Control-Allow-Headers': '*' }).end();
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, headers).end();
        return;
      }
      let path = decodeURIComponent(url.pathname);
      if (path.endsWith('/')) path += 'index.html';
      let dir = base;
      for (const [prefix, folder] of Object.entries(mounts)) {
        if (path.startsWith(prefix)) {
          dir = resolve(folder);
          path = path.slice(prefix.length - 1);
          break;
        }
      }
      const file = normalize(join(dir, path));
      if (file !== dir && !file.startsWith(dir + sep)) {
        res.writeHead(403, headers).end();
        return;
      }
      const info = await stat(file).catch(() => null);
      if (!info || !info.isFile()) {
        res.writeHead(404, { ...headers, 'Content-Type': 'text/plain' }).end('not found\n');
        return;
      }
      const body = await readFile(file);
      res.writeHead(200, {
        ...headers,
        'Content-Type': MIME[extname(file).toLowerCase()] ?? 'application/octet-stream',
        'Content-Length': body.length,
      });
      if (req.method === 'HEAD') {
        res.end();
      } else if (chunkDelayMs > 0 && file.endsWith('.safetensors')) {
        const step = Math.ceil(body.length / 16);
        for (let i = 0; i < body.length; i += step) {
          res.write(body.subarray(i, i + step));
          await sleep(chunkDelayMs);
        }
        res.end();
      } else {
        res.end(body);
      }
    } catch (err) {
      res.writeHead(500, { ...HEADERS, 'Content-Type': 'text/plain' }).end(String(err));
    }
  });
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const { port: actual } = server.address();
      resolvePromise({
        url: `http://${host}:${actual}/`,
        close: () =>
          new Promise((r) => {
            server.close(() => r());
            server.closeAllConnections?.();
          }),
        server,
      });
    });
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [root = 'dist', port = '8080', host = '127.0.0.1'] = process.argv.slice(2);
  const { url } = await startServer({ root, host, port: Number(port) });
  console.log(`albert-lens: serving ${resolve(root)} at ${url}  (Ctrl-C to stop)`);
}
