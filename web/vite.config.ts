import { gzipSync } from 'node:zlib';
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

const api = process.env.AGENTGATE_URL ?? 'http://localhost:3000';

export default defineConfig({
  plugins: [solid(), bundleBudget()],
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
