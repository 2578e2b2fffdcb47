import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import semver from 'semver';
import t from 'tap';

// The oldest release of each Node major we support. `npm install` on any of them must not
// print EBADENGINE: every locked package has to accept all three.
const FLOORS = ['20.19.0', '22.12.0', '24.0.0'];

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const readJson = (file: string) => JSON.parse(readFileSync(path.join(root, file), 'utf8'));

interface LockedPackage {
  version?: string;
  engines?: { node?: string } | string[];
  optional?: boolean;
  os?: string[];
  cpu?: string[];
}

t.test('our own packages declare the supported Node versions', async (t) => {
  for (const file of ['package.json', 'server/package.json', 'clients/sdk/package.json', 'clients/cli/package.json', 'clients/mcp/package.json']) {
    const range: string | undefined = readJson(file).engines?.node;
    if (file === 'server/package.json' && range === undefined) continue; // private, follows the root
    t.ok(range, `${file} has engines.node`);
    for (const v of FLOORS) t.ok(semver.satisfies(v, range!), `${file} engines "${range}" admits Node ${v}`);
    t.notOk(semver.satisfies('18.20.0', range!), `${file} does not claim Node 18`);
  }
});

t.test('every locked dependency runs on the oldest supported release of each major', async (t) => {
  const lock = readJson('package-lock.json') as { packages: Record<string, LockedPackage> };
  const refused: string[] = [];
  for (const [where, pkg] of Object.entries(lock.packages)) {
    if (!where.includes('node_modules/')) continue; // the workspace packages themselves
    // Platform builds for other machines (wasm32, darwin…) are never installed here.
    if (pkg.optional && (pkg.os || pkg.cpu)) continue;
    const range = !Array.isArray(pkg.engines) ? pkg.engines?.node : undefined;
    if (!range) continue;
    for (const v of FLOORS) {
      if (!semver.satisfies(v, range, { includePrerelease: true })) refused.push(`${where}@${pkg.version} needs "${range}", refuses ${v}`);
    }
  }
  t.same(refused, [], 'no locked package refuses a supported Node release');
});
