/**
 * Builds the publishable client packages into each package's `dist/`:
 *   sdk  → ESM + declarations (tsc), a CommonJS bundle (esbuild) and `.d.cts` twins;
 *   cli, mcp → ESM (tsc), started by their `bin/*.js` launchers.
 * Usage: node --import tsx clients/build.ts [sdk|cli|mcp …]   (all three by default)
 *
 * Inside the workspace everything imports the sources through the `@agentgate/source`
 * export condition; the published `exports` point at `dist/` only.
 */
import { copyFileSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { build as esbuild } from 'esbuild';
import { flattenSdkTypes } from './build-types.ts';

const CLIENTS = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.dirname(CLIENTS);
type Name = 'sdk' | 'cli' | 'mcp';
const ORDER: Name[] = ['sdk', 'cli', 'mcp'];

const base: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  rewriteRelativeImportExtensions: true,
  strict: true,
  noUncheckedIndexedAccess: true,
  noImplicitOverride: true,
  esModuleInterop: true,
  skipLibCheck: true,
  isolatedModules: true,
  verbatimModuleSyntax: true,
  newLine: ts.NewLineKind.LineFeed,
};

const perPackage: Record<Name, ts.CompilerOptions> = {
  // No Node types: the SDK's code must not lean on Node built-ins (it runs in browsers).
  sdk: { ...base, lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'], types: [], declaration: true },
  cli: { ...base, lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'], types: ['node'] },
  mcp: { ...base, lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'], types: ['node'] },
};

function compile(name: Name): void {
  const dir = path.join(CLIENTS, name);
  const src = path.join(dir, 'src');
  const dist = path.join(dir, 'dist');
  rmSync(dist, { recursive: true, force: true });
  const options: ts.CompilerOptions = { ...perPackage[name], rootDir: src, outDir: dist, typeRoots: [path.join(ROOT, 'node_modules/@types')] };
  const host = ts.createCompilerHost(options);
  if (name === 'sdk') {
    // The SDK's types come from the server's schemas; the published declarations carry
    // them written out, so they need neither the server nor typebox.
    const typesFile = path.join(src, 'types.ts');
    const flattened = flattenSdkTypes(typesFile, { ...base, types: [], noEmit: true, allowImportingTsExtensions: true });
    const getSourceFile = host.getSourceFile.bind(host);
    host.getSourceFile = (file, lang, onError, create) =>
      path.resolve(file) === typesFile ? ts.createSourceFile(file, flattened, lang) : getSourceFile(file, lang, onError, create);
    const readFile = host.readFile.bind(host);
    host.readFile = (file) => (path.resolve(file) === typesFile ? flattened : readFile(file));
  }
  const entries = readdirSync(src, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => path.join(src, f));
  const program = ts.createProgram(entries, options, host);
  const diagnostics = [...ts.getPreEmitDiagnostics(program), ...program.emit().diagnostics];
  if (diagnostics.length) {
    const text = ts.formatDiagnosticsWithColorAndContext(diagnostics, {
      getCanonicalFileName: (f) => f, getCurrentDirectory: () => ROOT, getNewLine: () => '\n',
    });
    throw new Error(`@agentgate/${name} does not build:\n${text}`);
  }
  // tsc rewrites `./x.ts` to `./x.js` in the JavaScript but leaves declarations as written.
  for (const file of readdirSync(dist, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.d.ts'))) {
    const full = path.join(dist, file);
    writeFileSync(full, readFileSync(full, 'utf8').replace(/(from\s+['"]\.{1,2}\/[^'"]+)\.ts(['"])/g, '$1.js$2'));
  }
}

/** CommonJS for `require('@agentgate/sdk')`: one bundle, plus declarations Node16 resolution accepts for it. */
async function sdkCommonJs(): Promise<void> {
  const dist = path.join(CLIENTS, 'sdk', 'dist');
  await esbuild({
    entryPoints: [path.join(dist, 'index.js')],
    outfile: path.join(dist, 'index.cjs'),
    bundle: true,
    format: 'cjs',
    platform: 'neutral',
    target: 'es2022',
    external: ['ws'],
    logLevel: 'warning',
  });
  for (const file of readdirSync(dist).filter((f) => f.endsWith('.d.ts'))) {
    const text = readFileSync(path.join(dist, file), 'utf8').replace(/(from\s+['"]\.\/[^'"]+)\.js(['"])/g, '$1.cjs$2');
    writeFileSync(path.join(dist, file.replace(/\.d\.ts$/, '.d.cts')), text);
  }
}

export async function buildClients(names: Name[] = ORDER): Promise<void> {
  for (const name of ORDER.filter((n) => names.includes(n))) {
    const started = Date.now();
    compile(name);
    if (name === 'sdk') await sdkCommonJs();
    // Each package ships its own copy of the project's license.
    copyFileSync(path.join(ROOT, 'LICENSE'), path.join(CLIENTS, name, 'LICENSE'));
    console.log(`@agentgate/${name}: built in ${Date.now() - started} ms`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const asked = process.argv.slice(2) as Name[];
  const unknown = asked.filter((n) => !ORDER.includes(n));
  if (unknown.length) {
    console.error(`unknown package ${unknown.join(', ')}: choose from ${ORDER.join(', ')}`);
    process.exit(2);
  }
  try {
    // The CLI and MCP server compile against the SDK's built declarations, as their users do.
    await buildClients(asked.length && !asked.includes('sdk') ? ['sdk', ...asked] : asked.length ? asked : ORDER);
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
}
