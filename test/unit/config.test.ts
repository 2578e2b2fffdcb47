import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { ConfigError, loadConfig } from '../../server/src/config.ts';

t.test('defaults apply when nothing is set', async (t) => {
  const { config, warnings } = loadConfig({});
  t.equal(config.PORT, 3000);
  t.equal(config.BODY_LIMIT, 1024 * 1024);
  t.equal(config.DATABASE_URL, undefined);
  t.same(warnings, []);
});

t.test('a bad value names the variable', async (t) => {
  const err = t.throws(() => loadConfig({ PORT: 'eighty' })) as unknown as ConfigError;
  t.ok(err instanceof ConfigError);
  t.match(err.message, /PORT/);
  t.throws(() => loadConfig({ ADMIN_API_KEY: 'short' }), /ADMIN_API_KEY: must be at least 16 characters/);
  t.throws(() => loadConfig({ DATABASE_URL: 'mysql://x' }), /DATABASE_URL/);
  t.throws(() => loadConfig({ TRUST_PROXY: 'maybe' }), /TRUST_PROXY/);
});

t.test('secrets come from NAME_FILE, trimmed; explicit NAME wins; unreadable file warns', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'agentgate-config-'));
  const file = path.join(dir, 'admin');
  writeFileSync(file, '  a-very-long-admin-key-123\n');
  t.equal(loadConfig({ ADMIN_API_KEY_FILE: file }).config.ADMIN_API_KEY, 'a-very-long-admin-key-123');
  t.equal(loadConfig({ ADMIN_API_KEY_FILE: file, ADMIN_API_KEY: 'explicit-key-wins-here' }).config.ADMIN_API_KEY, 'explicit-key-wins-here');
  const missing = loadConfig({ ADMIN_API_KEY_FILE: path.join(dir, 'nope') });
  t.equal(missing.config.ADMIN_API_KEY, undefined);
  t.equal(missing.warnings.length, 1);
  t.match(missing.warnings[0], /ADMIN_API_KEY_FILE/);
});

t.test('empty strings mean unset', async (t) => {
  t.equal(loadConfig({ DATABASE_URL: '', PORT: '' }).config.PORT, 3000);
});

t.test('.env.example lists every variable the server reads', async (t) => {
  const { readFileSync } = await import('node:fs');
  const { CONFIG_VARIABLES } = await import('../../server/src/config.ts');
  const example = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
  const listed = new Set([...example.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]));
  for (const name of CONFIG_VARIABLES) t.ok(listed.has(name), `${name} is in .env.example`);
});
