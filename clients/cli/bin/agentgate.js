#!/usr/bin/env node
// The CLI is TypeScript run through tsx: register its loader, then start the program.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
