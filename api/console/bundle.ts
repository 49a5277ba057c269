/**
 * The console's files, built in memory with esbuild when the API starts (about 100 ms): nothing to
 * build at install time, no bundle in git, never stale after a pull. Each asset is kept with its
 * gzip form and a content hash (names of JS/CSS carry it, so they can be cached forever).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

export interface ConsoleAsset {
  /** Path under /console/, e.g. `index.html`, `assets/app-3F2A.js`. */
  path: string;
  type: string;
  body: Buffer;
  gzip: Buffer;
  etag: string;
  /** Content-hashed name: cache forever. */
  immutable: boolean;
}

export interface ConsoleBundle {
  assets: Map<string, ConsoleAsset>;
  /** The HTML page and what it loads on first visit, gzipped, in bytes. */
  firstLoadGzipBytes: number;
}

/** Where the console's sources live (console/ at the repository root). */
export const CONSOLE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../console');

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
};

function asset(assetPath: string, body: Buffer, immutable: boolean): ConsoleAsset {
  const hash = createHash('sha256').update(body).digest('base64url').slice(0, 16);
  return {
    path: assetPath,
    type: TYPES[path.extname(assetPath)] ?? 'application/octet-stream',
    body,
    gzip: gzipSync(body, { level: 9 }),
    etag: `"${hash}"`,
    immutable,
  };
}

export async function buildConsoleBundle(
  opts: { root?: string; minify?: boolean } = {},
): Promise<ConsoleBundle> {
  const root = opts.root ?? CONSOLE_ROOT;
  // Loaded only when the console is served: the rest of the API does not need esbuild.
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: [path.join(root, 'src/main.ts')],
    bundle: true,
    format: 'esm',
    target: ['es2022', 'chrome100', 'firefox100', 'safari15'],
    minify: opts.minify ?? true,
    legalComments: 'none',
    write: false,
    outdir: path.join(root, 'out'),
    entryNames: '[name]-[hash]',
    logLevel: 'silent',
  });
  const assets = new Map<string, ConsoleAsset>();
  let js = '';
  let css = '';
  for (const file of result.outputFiles) {
    const name = `assets/${path.basename(file.path)}`;
    assets.set(name, asset(name, Buffer.from(file.contents), true));
    if (name.endsWith('.js')) js = name;
    if (name.endsWith('.css')) css = name;
  }
  assets.set('assets/icon.svg', asset('assets/icon.svg', readFileSync(path.join(root, 'icon.svg')), false));
  const html = readFileSync(path.join(root, 'index.html'), 'utf8')
    .replace('{{js}}', js)
    .replace('{{css}}', css);
  assets.set('index.html', asset('index.html', Buffer.from(html), false));
  const firstLoadGzipBytes = ['index.html', js, css, 'assets/icon.svg'].reduce(
    (sum, p) => sum + (assets.get(p)?.gzip.length ?? 0),
    0,
  );
  return { assets, firstLoadGzipBytes };
}
