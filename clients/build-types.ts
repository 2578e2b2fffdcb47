/**
 * Writes out the SDK's `types.ts` with every type taken from the server's schemas
 * expanded in place, so the published declarations stand alone: no path into the
 * server, no typebox. Aliases that name one another stay named.
 */
import path from 'node:path';
import ts from 'typescript';

const FLAGS = ts.TypeFormatFlags.NoTruncation | ts.TypeFormatFlags.InTypeAlias | ts.TypeFormatFlags.UseFullyQualifiedType;

export function flattenSdkTypes(typesFile: string, options: ts.CompilerOptions): string {
  const program = ts.createProgram([typesFile], options);
  const diagnostics = ts.getPreEmitDiagnostics(program);
  if (diagnostics.length) throw new Error(`${typesFile}: ${ts.flattenDiagnosticMessageText(diagnostics[0]!.messageText, '\n')}`);
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(typesFile)!;
  const text = source.getFullText();
  const own = new Set<string>();
  for (const st of source.statements) {
    if ((ts.isTypeAliasDeclaration(st) || ts.isInterfaceDeclaration(st))) own.add(st.name.text);
  }
  /** Named types from outside this file, declared once (not exported) below the exports. */
  const helpers = new Map<string, string>();

  const print = (type: ts.Type): string => {
    // Without an enclosing declaration every named type outside the global scope is
    // written as import("file").Name; those are resolved here one by one.
    const raw = checker.typeToString(type, undefined, FLAGS);
    return raw.replace(/import\("([^"]+)"\)\.([A-Za-z_$][\w$]*)/g, (_, from: string, name: string) => {
      if (path.resolve(from) === typesFile.replace(/\.ts$/, '') && own.has(name)) return name;
      if (!from.includes('/server/src/')) throw new Error(`${name} comes from ${from}, which the SDK does not ship`);
      if (own.has(name) && !helpers.has(name)) throw new Error(`${name} from ${from} clashes with the SDK's own ${name}`);
      if (!helpers.has(name)) {
        helpers.set(name, ''); // reserve first: a type may refer to itself
        const symbol = resolveExport(from, name);
        const declared = checker.getDeclaredTypeOfSymbol(symbol);
        helpers.set(name, symbol.flags & ts.SymbolFlags.Interface
          ? `interface ${name} ${members(declared)}`
          : `type ${name} = ${print(declared)};`);
      }
      return name;
    });
  };

  /** An interface's members, each printed like any other type. */
  const members = (type: ts.Type): string => {
    const lines = checker.getPropertiesOfType(type).map((p) => {
      const optional = p.flags & ts.SymbolFlags.Optional ? '?' : '';
      const doc = ts.displayPartsToString(p.getDocumentationComment(checker));
      return `${doc ? `/** ${doc} */ ` : ''}${p.name}${optional}: ${print(checker.getNonNullableType(checker.getTypeOfSymbol(p)))};`;
    });
    return `{ ${lines.join(' ')} }`;
  };

  const resolveExport = (from: string, name: string): ts.Symbol => {
    const file = program.getSourceFile(`${from}.ts`) ?? program.getSourceFile(from);
    const moduleSymbol = file && checker.getSymbolAtLocation(file);
    const symbol = moduleSymbol && checker.getExportsOfModule(moduleSymbol).find((s) => s.name === name);
    if (!symbol) throw new Error(`cannot find ${name} in ${from}`);
    return symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
  };

  const out: string[] = ['// Written out from the server\'s schemas when the SDK is built (clients/build-types.ts).'];
  for (const st of source.statements) {
    if (ts.isImportDeclaration(st)) continue;
    const leading = text.slice(st.getFullStart(), st.getStart()).trim();
    if (leading) out.push(leading);
    if (ts.isTypeAliasDeclaration(st)) {
      const type = checker.getTypeAtLocation(st.name);
      const params = st.typeParameters ? `<${st.typeParameters.map((p) => p.getText()).join(', ')}>` : '';
      if (params) throw new Error(`${st.name.text}: generic aliases are not flattened`);
      out.push(`export type ${st.name.text} = ${print(type)};`);
    } else if (ts.isInterfaceDeclaration(st)) {
      // Interfaces written in this file are kept as written, after checking that what
      // they mention is theirs.
      out.push(st.getText());
    } else {
      throw new Error(`${typesFile}: only types belong here (found ${ts.SyntaxKind[st.kind]})`);
    }
  }
  // Reprinted so that object types read one member a line, as if written by hand.
  const flat = ts.createSourceFile('types.ts', [...out, ...helpers.values()].join('\n') + '\n', ts.ScriptTarget.Latest, true);
  return ts.createPrinter({ newLine: ts.NewLineKind.LineFeed }).printFile(flat);
}
