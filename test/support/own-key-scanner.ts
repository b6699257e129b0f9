/**
 * Finds the prototype-key class of bug in source code (issue 10): a key whose type is an arbitrary
 * string indexing a plain object (`record[name]`, `name in record`, `record[name as keyof T]`).
 * Such a key may come from outside (a datastream name, a metadata field, a JSON body); then
 * `constructor`, `toString` or `__proto__` reach what every object inherits. Uses the type checker,
 * so arrays, Maps and literal-typed keys (`'a' | 'b'`) are not reported.
 *
 * Not reported (the safe forms):
 * - reads through `ownValue(record, key)` / `hasOwnKey(record, key)` (shared/own-keys.ts);
 * - an access in a function that checks `Object.hasOwn(record, key)` on the same expressions;
 * - an object made by `Object.create(null)` (no prototype to reach);
 * - a line marked `// own-key: <why the key cannot come from outside>`, on it or the line above,
 *   or a whole function whose doc comment says `@own-key <why>`.
 */
import ts from 'typescript';

export interface OwnKeyFinding {
  file: string;
  line: number;
  text: string;
  kind: 'index' | 'cast' | 'in';
}

export function scanOwnKeys(program: ts.Program, files: ReadonlySet<string>): OwnKeyFinding[] {
  const checker = program.getTypeChecker();
  const findings: OwnKeyFinding[] = [];

  const isWideString = (type: ts.Type): boolean => {
    if (
      type.flags &
      (ts.TypeFlags.Any | ts.TypeFlags.Unknown | ts.TypeFlags.String | ts.TypeFlags.TemplateLiteral)
    )
      return true;
    return type.isUnion() && type.types.some(isWideString);
  };
  const isDictionary = (type: ts.Type): boolean => {
    const t = checker.getNonNullableType(type);
    if (t.flags & ts.TypeFlags.Any) return true;
    if (t.isUnion()) return t.types.some(isDictionary);
    return checker.getIndexInfoOfType(t, ts.IndexKind.String) !== undefined && !checker.isArrayLikeType(t);
  };

  for (const sf of program.getSourceFiles()) {
    if (!files.has(sf.fileName)) continue;
    const lines = sf.text.split('\n');
    const MARK = /\/\/ own-key:|@own-key /;
    /** A marked line (or the line above), or a function whose doc comment says `@own-key <why>`. */
    const marked = (node: ts.Node): boolean => {
      const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      if ([lines[line], lines[line - 1]].some((l) => l !== undefined && MARK.test(l))) return true;
      for (let scope: ts.Node | undefined = node.parent; scope; scope = scope.parent) {
        if (!ts.isFunctionLike(scope)) continue;
        const holder = ts.isVariableDeclaration(scope.parent) ? scope.parent.parent.parent : scope;
        const doc = sf.text.slice(holder.getFullStart(), holder.getStart(sf));
        if (MARK.test(doc)) return true;
      }
      return false;
    };
    const nullPrototype = (object: ts.Expression): boolean => {
      if (!ts.isIdentifier(object)) return false;
      const declaration = checker.getSymbolAtLocation(object)?.valueDeclaration;
      const init = declaration && ts.isVariableDeclaration(declaration) ? declaration.initializer : undefined;
      return init !== undefined && /^Object\.create\(\s*null\s*\)/.test(init.getText(sf));
    };
    const guarded = (node: ts.Node, object: ts.Expression, key: ts.Expression): boolean => {
      let scope: ts.Node | undefined = node.parent;
      while (scope && !ts.isFunctionLike(scope) && !ts.isSourceFile(scope)) scope = scope.parent;
      const body = (scope ?? sf).getText(sf).replace(/\s+/g, '');
      const o = object.getText(sf).replace(/\s+|\?$/g, '');
      const k = key.getText(sf).replace(/\s+/g, '');
      return body.includes(`Object.hasOwn(${o},${k})`) || body.includes(`hasOwnKey(${o},${k})`);
    };
    const report = (node: ts.Node, kind: OwnKeyFinding['kind']) =>
      findings.push({
        file: sf.fileName,
        line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1,
        text: node.getText(sf).replace(/\s+/g, ' ').slice(0, 100),
        kind,
      });

    const visit = (node: ts.Node): void => {
      if (ts.isElementAccessExpression(node)) {
        const key = node.argumentExpression;
        const object = node.expression;
        const cast =
          (ts.isAsExpression(key) || ts.isTypeAssertionExpression(key)) &&
          isWideString(checker.getTypeAtLocation(key.expression));
        const kind = cast
          ? 'cast'
          : isWideString(checker.getTypeAtLocation(key)) && isDictionary(checker.getTypeAtLocation(object))
            ? 'index'
            : undefined;
        const bareKey = cast ? (key as ts.AsExpression).expression : key;
        if (kind && !nullPrototype(object) && !guarded(node, object, bareKey) && !marked(node))
          report(node, kind);
      }
      if (
        ts.isBinaryExpression(node) &&
        node.operatorToken.kind === ts.SyntaxKind.InKeyword &&
        isWideString(checker.getTypeAtLocation(node.left)) &&
        !nullPrototype(node.right) &&
        !guarded(node, node.right, node.left) &&
        !marked(node)
      ) {
        report(node, 'in');
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return findings;
}

/** A program over `files` with the repository's compiler options (tsconfig.json). */
export function programFor(files: readonly string[], host?: ts.CompilerHost): ts.Program {
  const config = ts.getParsedCommandLineOfConfigFile(
    'tsconfig.json',
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  if (!config) throw new Error('tsconfig.json could not be read');
  return ts.createProgram({
    rootNames: files,
    options: { ...config.options, noEmit: true },
    ...(host ? { host } : {}),
  });
}
