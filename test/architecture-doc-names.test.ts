// docs/architecture.md matches the code (issue 17): every file or folder it names exists, and every
// function, class, type or constant of ours it names is declared somewhere under src/.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const DOC = readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8');
const spans = [...new Set([...DOC.matchAll(/`([^`]+)`/g)].map((match) => match[1]!))];

/** Names of the platform (Node, JavaScript) that the document names beside ours. */
const PLATFORM = new Set(['Uint8Array', 'postMessage', 'workerData']);

const sources = (readdirSync(join(ROOT, 'src'), { recursive: true, encoding: 'utf8' }) as string[])
  .filter((name) => /\.tsx?$/.test(name))
  .map((name) => readFileSync(join(ROOT, 'src', name), 'utf8'))
  .join('\n');

function pathExists(path: string): boolean {
  if (existsSync(join(ROOT, path))) return true;
  // A module named by its built name (src/ui/main.js) is its TypeScript source.
  return /\.js$/.test(path) && ['.ts', '.tsx'].some((extension) => existsSync(join(ROOT, path.replace(/\.js$/, extension))));
}

function declared(name: string): boolean {
  const [owner, member] = name.split('.') as [string, string | undefined];
  const declaration = new RegExp(`(function\\*?|const|let|class|interface|type|enum)\\s+${owner}\\b`);
  if (!declaration.test(sources)) return false;
  // Class.method: a method or property of that name exists (in the class's file or elsewhere).
  return member === undefined || new RegExp(`\\b${member}\\s*[(<:=]`).test(sources);
}

describe('docs/architecture.md names what exists', () => {
  const paths = spans.filter((span) => /^(src|test|docs|scripts)\/[^<>\s]*$/.test(span));
  const names = spans.filter(
    (span) => !PLATFORM.has(span) && (/^[a-z][a-z0-9]*[A-Z]\w*$/.test(span) || /^[A-Z][a-z]\w*(\.[a-z]\w*)?$/.test(span) || /^[A-Z][A-Z0-9]*_[A-Z0-9_]+$/.test(span)),
  );

  it('finds names and paths to check (the test can fail)', () => {
    expect(paths.length).toBeGreaterThan(20);
    expect(names.length).toBeGreaterThan(10);
    expect(pathExists('src/no-such-file.ts')).toBe(false);
    expect(declared('noSuchFunctionAnywhere')).toBe(false);
  });

  it('every file and folder it names exists', () => {
    expect(paths.filter((path) => !pathExists(path))).toEqual([]);
  });

  it('every function, class, type and constant of ours it names is declared under src/', () => {
    expect(names.filter((name) => !declared(name))).toEqual([]);
  });
});
