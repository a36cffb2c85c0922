// The layering of docs/architecture.md §Import rules, enforced: every .ts/.tsx file under src/ is parsed
// with the TypeScript compiler, each relative import (static, type-only, export-from, import-equals,
// dynamic import('…')) is resolved to a layer, and checked against the rules table of that section, the
// only definition of the rules (this test reads it; it does not copy it). The "Known exceptions" table
// of the same section allows one file to cross one line until the issue it names moves the code.
// The "Packages that do I/O" table names packages (node:fs …) that some layers (core, api, service)
// may not import at all: they reach files, processes and the network through src/edges/.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const ARCHITECTURE = 'docs/architecture.md';

interface Layer {
  name: string;
  /** Folders (ending in '/') or single files, relative to the repository, as written in the table. */
  files: string[];
  mayImport: Set<string>;
}
interface Exception {
  file: string;
  layer: string;
}
interface IoPackages {
  packages: Set<string>;
  notIn: Set<string>;
}
interface Rules {
  layers: Layer[];
  exceptions: Exception[];
  /** docs/architecture.md §Packages that do I/O: packages some layers may not import. */
  io: IoPackages[];
}
interface Violation {
  file: string;
  specifier: string;
  message: string;
}

/** The rows of the first markdown table after `heading`, as lists of the `code` spans of each cell. */
function tableAfter(markdown: string, heading: string): string[][][] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((line) => line.trim() === heading);
  if (start < 0) throw new Error(`${ARCHITECTURE} has no "${heading}" section`);
  const rows: string[][][] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.startsWith('#')) break;
    if (!line.startsWith('|')) {
      if (rows.length > 0 && line.trim() === '') break;
      continue;
    }
    const cells = line.split('|').slice(1, -1);
    if (cells.every((cell) => /^\s*-+\s*$/.test(cell))) continue;
    rows.push(cells.map((cell) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!)));
  }
  return rows.slice(1); // the header row
}

function readRules(markdown: string): Rules {
  const layers = tableAfter(markdown, '## Import rules').map(([name, files, mayImport]) => {
    if (name?.length !== 1 || !files?.length || !mayImport?.length) throw new Error(`bad rules row in ${ARCHITECTURE}`);
    return { name: name[0]!, files, mayImport: new Set(mayImport) };
  });
  const exceptions = tableAfter(markdown, '### Known exceptions').map(([file, layer]) => {
    if (file?.length !== 1 || layer?.length !== 1) throw new Error(`bad exceptions row in ${ARCHITECTURE}`);
    return { file: file[0]!, layer: layer[0]! };
  });
  const io = tableAfter(markdown, '### Packages that do I/O').map(([packages, notIn]) => {
    if (!packages?.length || !notIn?.length) throw new Error(`bad I/O packages row in ${ARCHITECTURE}`);
    return { packages: new Set(packages), notIn: new Set(notIn) };
  });
  return { layers, exceptions, io };
}

const withoutExtension = (path: string) => path.replace(/\.(d\.ts|tsx?|jsx?|mjs|cjs)$/, '');

/** The layer a repository path belongs to, or undefined when no row of the table names it. */
function layerOf(path: string, rules: Rules): Layer | undefined {
  return rules.layers.find((layer) =>
    layer.files.some((files) =>
      files.endsWith('/') ? path.startsWith(files) : withoutExtension(path) === withoutExtension(files),
    ),
  );
}

/** Every module specifier a source file names: imports, exports-from, import-equals, import('…'), require('…'). */
function specifiersOf(fileName: string, text: string): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  // `const name = 'pkg'; await import(name)` (an optional package kept out of the type check) is read
  // through the constant; any other computed specifier cannot be checked.
  const constants = new Map<string, string>();
  const collect = (node: ts.Node): void => {
    if (ts.isVariableDeclarationList(node) && node.flags & ts.NodeFlags.Const) {
      for (const d of node.declarations) {
        if (ts.isIdentifier(d.name) && d.initializer && ts.isStringLiteralLike(d.initializer)) constants.set(d.name.text, d.initializer.text);
      }
    }
    ts.forEachChild(node, collect);
  };
  collect(source);
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      if (ts.isStringLiteral(node.moduleSpecifier)) found.push(node.moduleSpecifier.text);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const expression = node.moduleReference.expression;
      if (ts.isStringLiteral(expression)) found.push(expression.text);
    } else if (ts.isCallExpression(node)) {
      const isImport = node.expression.kind === ts.SyntaxKind.ImportKeyword;
      const isRequire = ts.isIdentifier(node.expression) && node.expression.text === 'require';
      const [argument] = node.arguments;
      if ((isImport || isRequire) && argument) {
        // A computed specifier cannot be checked: it is a violation of its own.
        const constant = ts.isIdentifier(argument) ? constants.get(argument.text) : undefined;
        found.push(
          ts.isStringLiteralLike(argument) ? argument.text : (constant ?? `<computed: ${argument.getText(source)}>`),
        );
      }
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      found.push(node.argument.literal.text); // type X = import('…').Y
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** The violations of one file (a repository path such as 'src/core/x.ts') with the given text. */
function checkFile(file: string, text: string, rules: Rules): Violation[] {
  const from = layerOf(file, rules);
  if (!from) {
    return [{ file, specifier: '', message: `${file} is in no layer of ${ARCHITECTURE} §Import rules (give its folder a row)` }];
  }
  const violations: Violation[] = [];
  for (const specifier of specifiersOf(file, text)) {
    if (specifier.startsWith('<computed')) {
      violations.push({ file, specifier, message: `${file} imports ${specifier}, which cannot be checked against ${ARCHITECTURE}` });
      continue;
    }
    if (!specifier.startsWith('.') && !specifier.startsWith('/') && !specifier.startsWith('src/')) {
      // A package: only those that do I/O are checked, against the layers their row names.
      const row = rules.io.find((each) => each.packages.has(specifier) && each.notIn.has(from.name));
      if (row) {
        violations.push({
          file,
          specifier,
          message: `${file} imports '${specifier}', a package that does I/O: layer ${from.name} reaches it through src/edges/ (${ARCHITECTURE} §Packages that do I/O)`,
        });
      }
      continue;
    }
    const target = specifier.startsWith('.') ? posix.normalize(posix.join(posix.dirname(file), specifier)) : specifier.replace(/^\//, '');
    const to = layerOf(target, rules);
    const toName = to?.name ?? `${target} (in no layer)`;
    if (to && from.mayImport.has(to.name)) continue;
    if (to && rules.exceptions.some((e) => e.file === file && e.layer === to.name)) continue;
    violations.push({
      file,
      specifier,
      message:
        `${file} imports '${specifier}' (layer ${toName}): ` +
        `rule "${from.name} may import ${[...from.mayImport].join(', ')}" (${ARCHITECTURE} §Import rules)`,
    });
  }
  return violations;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : /\.tsx?$/.test(name) ? [path] : [];
  });
}

const rules = readRules(readFileSync(join(ROOT, ARCHITECTURE), 'utf8'));
const tree = sourceFiles(join(ROOT, 'src')).map((path) => relative(ROOT, path).split(sep).join('/'));

describe(`import graph against ${ARCHITECTURE} §Import rules`, () => {
  it('reads the rules table: every layer the issue names, each allowed to import itself', () => {
    const names = rules.layers.map((layer) => layer.name);
    expect(names).toEqual(expect.arrayContaining(['core', 'api', 'edges', 'service', 'cli', 'ui', 'relay', 'flash', 'shared']));
    for (const layer of rules.layers) {
      expect(layer.mayImport.has(layer.name), layer.name).toBe(true);
      for (const target of layer.mayImport) expect(names, `${layer.name} may import ${target}`).toContain(target);
    }
    // The issue's lines, as the table must keep them (issue 17).
    expect([...rules.layers.find((l) => l.name === 'core')!.mayImport].sort()).toEqual(['api', 'core', 'shared']);
    expect([...rules.layers.find((l) => l.name === 'relay')!.mayImport].sort()).toEqual(['api', 'relay', 'shared']);
    expect([...rules.layers.find((l) => l.name === 'flash')!.mayImport].sort()).toEqual(['edges', 'flash', 'shared']);
    for (const face of ['cli', 'ui']) expect(rules.layers.find((l) => l.name === face)!.mayImport.has('edges')).toBe(false);
  });

  it('fails on a deliberately wrong import, naming the file, the import and the rule', () => {
    const wrong = checkFile('src/core/x.ts', "import { randomBytes } from '../edges/random.js';\n", rules);
    expect(wrong).toHaveLength(1);
    expect(wrong[0]!.message).toContain('src/core/x.ts');
    expect(wrong[0]!.message).toContain("'../edges/random.js'");
    expect(wrong[0]!.message).toContain('layer edges');
    expect(wrong[0]!.message).toContain('rule "core may import core, api, shared"');
  });

  it('fails on a service that does file I/O itself (node:fs), and lets an edge do it', () => {
    const wrong = checkFile('src/service/x.ts', "import { readFile } from 'node:fs/promises';\nimport { existsSync } from 'fs';\n", rules);
    expect(wrong.map((v) => v.specifier)).toEqual(['node:fs/promises', 'fs']);
    expect(wrong[0]!.message).toContain('src/service/x.ts');
    expect(wrong[0]!.message).toContain('a package that does I/O');
    expect(wrong[0]!.message).toContain('§Packages that do I/O');
    expect(checkFile('src/core/x.ts', "const cp = await import('node:child_process');\n", rules)).toHaveLength(1);
    expect(checkFile('src/edges/x.ts', "import { readFile } from 'node:fs/promises';\n", rules)).toEqual([]);
    expect(checkFile('src/service/x.ts', "import { join } from 'node:path';\nimport { z } from 'zod';\n", rules)).toEqual([]);
  });

  it('catches every form of import: type-only, export-from, dynamic, import-equals, import types, computed', () => {
    const text = [
      "import type { Stick } from '../edges/stick-locator.js';",
      "export { x } from '../../src/service/mail-send.js';",
      "export * from '../relay/main.js';",
      "const m = await import('../cli/main.js');",
      "import fs = require('../flash/main.js');",
      "type T = import('../ui/App.js').Props;",
      'const n = await import(`../edges/${name}.js`);',
      "const where = '../service/keys.js'; const k = await import(where);",
      "import { z } from 'zod';", // a package: not ours
      "import { describeError } from '../errors.js';", // shared: allowed
      "import { accountSchema } from '../api/schemas.js';", // allowed
    ].join('\n');
    const found = checkFile('src/core/y.ts', text, rules).map((v) => v.specifier);
    expect(found).toEqual([
      '../edges/stick-locator.js',
      '../../src/service/mail-send.js',
      '../relay/main.js',
      '../cli/main.js',
      '../flash/main.js',
      '../ui/App.js',
      '<computed: `../edges/${name}.js`>',
      '../service/keys.js',
    ]);
  });

  it('an exception allows one file and one layer only; a file in no layer is a violation', () => {
    // A rules table with one exception row (the doc's own table may be empty).
    const excepted: Rules = { ...rules, exceptions: [...rules.exceptions, { file: 'src/cli/context.ts', layer: 'edges' }] };
    const faceToEdge = "import { probeNetwork } from '../edges/network-probe.js';\n";
    expect(checkFile('src/cli/context.ts', faceToEdge, rules)).toHaveLength(1); // the faces never call an edge
    expect(checkFile('src/cli/context.ts', faceToEdge, excepted)).toEqual([]); // listed as an exception
    expect(checkFile('src/cli/new-command.ts', faceToEdge, excepted)).toHaveLength(1); // not listed
    expect(checkFile('src/cli/context.ts', "import { x } from '../relay/main.js';\n", excepted)).toHaveLength(1);
    expect(checkFile('src/newfolder/z.ts', '', rules)[0]!.message).toContain('in no layer');
    expect(checkFile('src/service/z.ts', "import '../../package.json';\n", rules)[0]!.message).toContain('(in no layer)');
  });

  it('passes on the tree: no import crosses a line the rules and the known exceptions do not allow', () => {
    expect(tree.length).toBeGreaterThan(100);
    const violations = tree.flatMap((file) => checkFile(file, readFileSync(join(ROOT, file), 'utf8'), rules));
    expect(violations.map((v) => v.message)).toEqual([]);
  });

  it('every known exception names a file that exists and a layer it may not import', () => {
    for (const exception of rules.exceptions) {
      expect(tree, exception.file).toContain(exception.file);
      const from = layerOf(exception.file, rules);
      expect(from?.mayImport.has(exception.layer), `${exception.file} → ${exception.layer}`).toBe(false);
    }
    // An exception whose import is gone is stale: warn (other work of issue 17 removes them one by one;
    // failing here would turn main red for a good change), and the row should be dropped.
    const stale = rules.exceptions.filter(({ file, layer }) => {
      const text = readFileSync(join(ROOT, file), 'utf8');
      const crossing = specifiersOf(file, text).filter((s) => s.startsWith('.'));
      return !crossing.some((s) => layerOf(posix.normalize(posix.join(posix.dirname(file), s)), rules)?.name === layer);
    });
    if (stale.length > 0) {
      console.warn(`${ARCHITECTURE} §Known exceptions: stale rows, drop them: ${stale.map((e) => `${e.file} → ${e.layer}`).join('; ')}`);
    }
  });
});
