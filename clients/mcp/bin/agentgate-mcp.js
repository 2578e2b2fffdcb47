#!/usr/bin/env node
// The MCP server is TypeScript run through tsx: register its loader, then start it.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
