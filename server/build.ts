/**
 * Bundles the server's entry points into server/dist/bin/ (JavaScript, dependencies left
 * to node_modules), so a production image runs `node server/dist/bin/main.js` without a
 * TypeScript loader. Usage: node --import tsx server/build.ts
 *
 * The bundles sit three folders below the repository root, as server/src/db/paths.ts does,
 * so the root it locates from its own URL (sql/, projections/, web/) stays the same.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const SERVER = path.dirname(fileURLToPath(import.meta.url));
const OUT = path.join(SERVER, 'dist', 'bin');

export async function buildServer(): Promise<void> {
  const started = Date.now();
  rmSync(path.join(SERVER, 'dist'), { recursive: true, force: true });
  await build({
    entryPoints: ['main', 'worker-main', 'projections-rebuild'].map((n) => path.join(SERVER, 'src', `${n}.ts`)),
    outdir: OUT,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    // Chunks beside the entry points: shared code (paths.ts among it) keeps the same depth.
    chunkNames: '[name]-[hash]',
    logLevel: 'warning',
  });
  console.log(`server: bundled in ${Date.now() - started} ms`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildServer();
}
