// Lets a plain Node process (e.g. the Node 26 of the executables, spawned by a test that
// runs under the project's Node 20) import the TypeScript sources of src/ as vitest does:
// `node --import ./test/helpers/ts-source-hooks.mjs …`. A relative './x.js' imported from a
// .ts file resolves to './x.ts' when that exists; .ts files are compiled by esbuild (a
// devDependency), types removed, nothing checked.
import { createRequire, registerHooks } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const esbuild = createRequire(import.meta.url)('esbuild');

registerHooks({
  resolve(specifier, context, next) {
    if (specifier.startsWith('.') && specifier.endsWith('.js') && context.parentURL?.endsWith('.ts')) {
      const source = new URL(specifier.replace(/\.js$/, '.ts'), context.parentURL);
      if (existsSync(fileURLToPath(source))) return next(source.href, context);
    }
    return next(specifier, context);
  },
  load(url, context, next) {
    if (!url.endsWith('.ts')) return next(url, context);
    const { code } = esbuild.transformSync(readFileSync(fileURLToPath(url), 'utf8'), { loader: 'ts', format: 'esm', sourcefile: url });
    return { format: 'module', source: code, shortCircuit: true };
  },
});
