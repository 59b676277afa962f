// Static server for the built app (dist/) with the headers Trainyard needs: COOP/COEP so the
// page is cross-origin isolated (WASM threads, SharedArrayBuffer), a strict CSP, and cache rules
// that keep the service worker and index.html fresh. No dependencies; usable from tests in-process.
import { createServer } from 'node:http';
import { createReadStream, readFileSync } from 'node:fs';
import { stat, realpath } from 'node:fs/promises';
import { extname, join, resolve, sep, isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The backbone catalog's origin when the build does not say (vite.config.ts writes catalog-origin.txt). */
export const DEFAULT_CATALOG_ORIGIN = 'https://storage.googleapis.com';

/** The headers for a build whose backbone catalog downloads from `catalogOrigin` (one origin, no wildcard). */
export function securityHeaders(catalogOrigin = DEFAULT_CATALOG_ORIGIN) {
  return Object.freeze({
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Embedder-Policy': 'require-corp',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Content-Security-Policy': [
      "default-src 'self'",
      "script-src 'self' 'wasm-unsafe-eval'",
      "worker-src 'self' blob:",
      `connect-src 'self' ${catalogOrigin}`,
      "img-src 'self' blob: data:",
      "style-src 'self' 'unsafe-inline'",
      "font-src 'self'",
      "object-src 'none'",
      "base-uri 'self'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ].join('; '),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
  });
}

export const SECURITY_HEADERS = securityHeaders();

/** The catalog origin a build was made for, from its catalog-origin.txt; only a plain http(s) origin is accepted. */
export function buildCatalogOrigin(root) {
  let text;
  try {
    text = readFileSync(join(root, 'catalog-origin.txt'), 'utf8').trim();
  } catch {
    return DEFAULT_CATALOG_ORIGIN;
  }
  let url;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`catalog-origin.txt holds ${JSON.stringify(text.slice(0, 80))}, not an origin.`);
  }
  // A plain host name or address: no wildcard ('*' is a valid URL host character but a CSP wildcard).
  const plainHost = /^([a-z0-9-]+\.)*[a-z0-9-]+$|^\[[0-9a-f:.]+\]$/i.test(url.hostname);
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.origin !== text || !plainHost) {
    throw new Error(`catalog-origin.txt must hold one http(s) origin, not ${JSON.stringify(text.slice(0, 80))}.`);
  }
  return url.origin;
}

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.zip': 'application/zip',
  '.bin': 'application/octet-stream',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
  '.csv': 'text/csv; charset=utf-8',
};

const NO_CACHE = 'no-cache';
const IMMUTABLE = 'public, max-age=31536000, immutable';

function cacheControlFor(urlPath) {
  const name = urlPath.slice(urlPath.lastIndexOf('/') + 1);
  // These must be revalidated on every load, or users get stuck on an old service worker/app.
  if (
    urlPath === '/' ||
    name === 'index.html' ||
    name === 'sw.js' ||
    /^workbox-.*\.js$/.test(name) ||
    name === 'manifest.webmanifest' ||
    name === 'registerSW.js'
  ) {
    return NO_CACHE;
  }
  // Vite content-hashes everything under /assets/, so it can be cached forever.
  if (urlPath.startsWith('/assets/')) return IMMUTABLE;
  return NO_CACHE;
}

function sendPlain(req, res, status, text, SECURITY_HEADERS) {
  const body = Buffer.from(text + '\n', 'utf8');
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': body.length,
    'Cache-Control': 'no-store',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

async function fileStat(path) {
  try {
    const s = await stat(path);
    return s.isFile() ? s : null;
  } catch {
    return null;
  }
}

/**
 * Resolve a URL path inside root. Returns null when it would escape root.
 * @param {string} root absolute, real path of the served folder
 * @param {string} rawPath the request path (before the query string)
 */
function resolveInside(root, rawPath) {
  let decoded;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return null;
  }
  // NUL bytes and backslashes have no business in a URL path; refusing them avoids
  // platform-specific path tricks.
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const full = resolve(root, '.' + (decoded.startsWith('/') ? decoded : '/' + decoded));
  if (full !== root && !full.startsWith(root + sep)) return null;
  return full;
}

function makeHandler(root) {
  const SECURITY_HEADERS = securityHeaders(buildCatalogOrigin(root));
  const sendText = (req, res, status, text) => sendPlain(req, res, status, text, SECURITY_HEADERS);
  return async (req, res) => {
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('Allow', 'GET, HEAD');
        return sendText(req, res, 405, 'Method Not Allowed');
      }
      const rawPath = (req.url ?? '/').split('?')[0].split('#')[0] || '/';
      if (!rawPath.startsWith('/')) return sendText(req, res, 400, 'Bad Request');
      let full = resolveInside(root, rawPath);
      if (full === null) return sendText(req, res, 400, 'Bad Request');

      let urlPath = rawPath;
      let st = await fileStat(full);
      if (!st) {
        // Directory requests (including "/") serve their index.html.
        const idx = join(full, 'index.html');
        const idxSt = await fileStat(idx);
        if (idxSt) {
          full = idx;
          st = idxSt;
          urlPath = rawPath.endsWith('/') ? rawPath + 'index.html' : rawPath + '/index.html';
        }
      }
      if (st) {
        // Refuse symlinks that point outside root.
        const real = await realpath(full);
        if (real !== root && !real.startsWith(root + sep)) return sendText(req, res, 400, 'Bad Request');
      }
      if (!st) {
        const lastSegment = rawPath.slice(rawPath.lastIndexOf('/') + 1);
        // A missing asset must be a real 404: answering with index.html would hand HTML to a
        // script/worker/wasm loader and produce confusing MIME or parse errors.
        if (rawPath.startsWith('/assets/') || extname(lastSegment) !== '') {
          return sendText(req, res, 404, `Not Found: ${rawPath}`);
        }
        // SPA fallback for client-side routes.
        full = join(root, 'index.html');
        st = await fileStat(full);
        urlPath = '/index.html';
        if (!st) return sendText(req, res, 404, 'Not Found (no index.html in the served folder)');
      }

      const type = MIME[extname(full).toLowerCase()] ?? 'application/octet-stream';
      const headers = {
        ...SECURITY_HEADERS,
        'Content-Type': type,
        'Cache-Control': cacheControlFor(urlPath),
        'Last-Modified': st.mtime.toUTCString(),
      };
      // "no-cache" files are revalidated on every load; answer unchanged ones with 304 so the
      // revalidation is cheap (HTTP dates have 1-second resolution, hence the floor).
      const since = Date.parse(req.headers['if-modified-since'] ?? '');
      if (!Number.isNaN(since) && Math.floor(st.mtimeMs / 1000) * 1000 <= since) {
        res.writeHead(304, headers);
        return res.end();
      }
      res.writeHead(200, { ...headers, 'Content-Length': st.size });
      if (req.method === 'HEAD') return res.end();
      const stream = createReadStream(full);
      stream.on('error', () => res.destroy());
      stream.pipe(res);
    } catch (err) {
      if (!res.headersSent) sendText(req, res, 500, 'Internal Server Error');
      else res.destroy();
      console.error(err);
    }
  };
}

/**
 * Start the static server.
 * @param {{ root?: string, port?: number, host?: string }} [opts] port 0 picks a free port
 * @returns {Promise<{ url: string, port: number, close: () => Promise<void> }>}
 */
export async function startServer({ root = 'dist', port = 4173, host = '127.0.0.1' } = {}) {
  const absRoot = await realpath(isAbsolute(root) ? root : resolve(process.cwd(), root));
  const server = createServer(makeHandler(absRoot));
  // Track sockets so close() does not hang on keep-alive connections held by a browser.
  const sockets = new Set();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => {
      server.off('error', fail);
      ok();
    });
  });
  const actualPort = /** @type {import('node:net').AddressInfo} */ (server.address()).port;
  // "localhost" (not 127.0.0.1) so the page is a secure context by name, which WebGPU and
  // service workers require; Chromium resolves localhost to loopback.
  const url = `http://localhost:${actualPort}/`;
  return {
    url,
    port: actualPort,
    close: () =>
      new Promise((ok) => {
        server.close(() => ok());
        for (const s of sockets) s.destroy();
      }),
  };
}

function parsePort(argv) {
  const i = argv.indexOf('--port');
  if (i !== -1 && argv[i + 1] !== undefined) return Number(argv[i + 1]);
  const eq = argv.find((a) => a.startsWith('--port='));
  if (eq) return Number(eq.slice('--port='.length));
  if (process.env.PORT !== undefined && process.env.PORT !== '') return Number(process.env.PORT);
  return 4173;
}

const isMain = process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  const port = parsePort(process.argv.slice(2));
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`Invalid port: ${port}`);
    process.exit(2);
  }
  let srv;
  try {
    srv = await startServer({ root: resolve(process.cwd(), 'dist'), port });
  } catch (err) {
    if (err?.code === 'ENOENT') console.error('dist/ not found: run `npm run build` first.');
    else if (err?.code === 'EADDRINUSE') console.error(`Port ${port} is in use; try --port 0 or PORT=<n>.`);
    else console.error(err);
    process.exit(1);
  }
  console.log(`Trainyard is running at ${srv.url}`);
  const shutdown = async () => {
    await srv.close();
    process.exit(0);
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}
