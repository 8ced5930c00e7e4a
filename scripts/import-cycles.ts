/**
 * Finds import cycles among the project's own TypeScript files, type-only imports included
 * (a type-only circle is still two modules that cannot be understood apart). Part of
 * `npm run lint`; exits 1 and prints each cycle when there is one.
 *
 *   tsx scripts/import-cycles.ts [dir ...]     (default: shared/src sync-server/src desktop/src bench)
 *
 * ESLint's import plugins skip type-only imports when they look for cycles, hence this check.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';

const sourceFile = /\.(ts|tsx|mts)$/;

function listSources(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listSources(full));
    else if (sourceFile.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

const compilerOptions: ts.CompilerOptions = {
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  allowImportingTsExtensions: true,
  jsx: ts.JsxEmit.ReactJSX,
};

/** Each file and the project files it imports (by resolved absolute path). */
export function importGraph(files: readonly string[]): Map<string, Set<string>> {
  const known = new Set(files.map((f) => path.resolve(f)));
  const graph = new Map<string, Set<string>>();
  for (const file of known) {
    const info = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
    const edges = new Set<string>();
    for (const ref of info.importedFiles) {
      const resolved = ts.resolveModuleName(ref.fileName, file, compilerOptions, ts.sys).resolvedModule?.resolvedFileName;
      if (resolved && known.has(path.resolve(resolved))) edges.add(path.resolve(resolved));
    }
    graph.set(file, edges);
  }
  return graph;
}

/** Strongly connected components with more than one file, or a file importing itself (Tarjan). */
export function findCycles(graph: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];

  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || graph.get(v)?.has(v)) cycles.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return cycles;
}

function main(): void {
  const root = process.cwd();
  const dirs = process.argv.slice(2);
  const roots = dirs.length > 0 ? dirs : ['shared/src', 'sync-server/src', 'sync-server/test', 'desktop/src', 'desktop/e2e', 'bench'];
  const files = roots.flatMap((d) => listSources(path.resolve(root, d)));
  const cycles = findCycles(importGraph(files));
  if (cycles.length === 0) return;
  console.error(`import cycles: ${cycles.length} (each group imports itself round a circle; move the shared piece into its own lower module)`);
  for (const c of cycles) console.error(`  - ${c.map((f) => path.relative(root, f)).join('\n    ')}`);
  process.exitCode = 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) main();
