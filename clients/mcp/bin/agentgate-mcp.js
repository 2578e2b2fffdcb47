#!/usr/bin/env node
// Starts the compiled MCP server. In a checkout, `npm run build` makes dist/ (or run the
// sources with `npm run -s mcp -- …`).
import { existsSync } from 'node:fs';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('agentgate-mcp: this copy is not built yet; run `npm run build` in the AgentGate checkout.\n');
  process.exit(1);
}
await import(main.href);
