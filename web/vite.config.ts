import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { brotliCompressSync, constants as zlib, gzipSync } from 'node:zlib';
import { defaultClientConditions, defineConfig, type Plugin } from 'vite';
import solid from 'vite-plugin-solid';

/** The production bundle must stay small: print its gzipped JavaScript and fail past the budget. */
const BUDGET_KB = 150;
function bundleBudget(): Plugin {
  return {
    name: 'agentgate-bundle-budget',
    apply: 'build',
    generateBundle(_options, bundle) {
      let bytes = 0;
      for (const file of Object.values(bundle)) {
        if (file.type === 'chunk') bytes += gzipSync(file.code).length;
      }
      const kb = bytes / 1024;
      const line = `dashboard JavaScript: ${kb.toFixed(1)} kB gzipped (budget ${BUDGET_KB} kB)`;
      if (kb > BUDGET_KB) this.error(line);
      console.log(`\n${line}`);
    },
  };
}

/**
 * Writes a Brotli (.br) and a gzip (.gz) copy beside each built script, style sheet and
 * SVG, compressed once at their best levels; the server sends whichever the browser
 * accepts (server/src/http/dashboard.ts), so no request pays for compression.
 */
const COMPRESSIBLE = /\.(js|css|svg|html|json|txt)$/;
function precompress(): Plugin {
  return {
    name: 'agentgate-precompress',
    apply: 'build',
    writeBundle(options, bundle) {
      const dir = options.dir!;
      let raw = 0;
      let br = 0;
      for (const [name, file] of Object.entries(bundle)) {
        if (!COMPRESSIBLE.test(name) || !name.startsWith('assets/')) continue;
        const body = Buffer.from(file.type === 'chunk' ? file.code : file.source);
        const brotli = brotliCompressSync(body, { params: { [zlib.BROTLI_PARAM_QUALITY]: 11, [zlib.BROTLI_PARAM_SIZE_HINT]: body.length } });
        writeFileSync(path.join(dir, `${name}.br`), brotli);
        writeFileSync(path.join(dir, `${name}.gz`), gzipSync(body, { level: 9 }));
        raw += body.length;
        br += brotli.length;
      }
      console.log(`dashboard assets: ${(raw / 1024).toFixed(1)} kB, ${(br / 1024).toFixed(1)} kB as Brotli (precompressed .br and .gz beside them)`);
    },
  };
}

const api = process.env.AGENTGATE_URL ?? 'http://localhost:3000';

export default defineConfig({
  plugins: [solid(), bundleBudget(), precompress()],
  // @agentgate/sdk from its sources (the workspace's condition), not its published build.
  resolve: { conditions: ['@agentgate/source', ...defaultClientConditions] },
  build: {
    target: 'es2022',
    // No inline script: the page runs under a strict Content-Security-Policy.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    rolldownOptions: { checks: { pluginTimings: false } },
  },
  server: {
    // `npm run dev`: the API and its WebSocket through the dev server, so cookies stay same-origin.
    proxy: {
      '/api': { target: api, changeOrigin: false, ws: true },
      '/health': api,
      '/docs': api,
    },
  },
});
