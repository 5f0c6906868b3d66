// The import graph of the product code, for the layering test
// (test/unit/layers.test.ts): which module imports which, its cycles, and the
// imports that go the wrong way through the layers.
//
// Imports are read with TypeScript's own pre-processor (static imports,
// `import type`, re-exports and dynamic `import()`), so comments and strings
// never count. Only relative specifiers are followed: packages are not ours.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/**
 * The layers, lowest first: a module may import from its own layer or a lower
 * one, never a higher one. Same-layer folders may use each other (the cycle
 * check still applies). A top-level folder of .ts files missing here fails the
 * test until it is placed.
 */
export const LAYERS: Record<string, number> = {
  lib: 0,
  vm: 1,
  provision: 1,
  builder: 1,
  lab: 2,
  smoke: 2,
  bench: 2,
  cli: 3,
};

/** Folders that hold no product code: product code never imports from them. */
export const NOT_PRODUCT = ['test'];

/** Module path (relative to the root, '/'-separated) -> the modules it imports. */
export type ImportGraph = Map<string, string[]>;

function tsFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return tsFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

const posix = (p: string): string => p.split(sep).join('/');

/** The relative imports of one TypeScript source, as root-relative paths of .ts files (or of the data file named). */
export function importsOf(root: string, file: string, text: string): string[] {
  const info = ts.preProcessFile(text, true, true);
  return info.importedFiles
    .map((i) => i.fileName)
    .filter((s) => s.startsWith('./') || s.startsWith('../'))
    .map((s) => posix(relative(root, resolve(dirname(join(root, file)), s.replace(/\.js$/, '.ts')))));
}

/** The import graph of every .ts file under the given top-level folders of root. */
export function productGraph(root: string, folders: string[]): ImportGraph {
  const graph: ImportGraph = new Map();
  for (const f of folders) {
    for (const abs of tsFiles(join(root, f))) {
      const file = posix(relative(root, abs));
      graph.set(file, importsOf(root, file, readFileSync(abs, 'utf8')));
    }
  }
  return graph;
}

/** The top-level folders of root that hold .ts files (outside node_modules, dist and dot folders). */
export function tsFolders(root: string): string[] {
  return readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.') && e.name !== 'node_modules' && e.name !== 'dist')
    .map((e) => e.name)
    .filter((d) => tsFiles(join(root, d)).length > 0)
    .sort();
}

/** Every cycle of the graph, as its strongly connected components of more than one module (or a module importing itself). */
export function cycles(graph: ImportGraph): string[][] {
  // Tarjan's algorithm, iterative so a long chain of imports cannot overflow the stack.
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  for (const start of graph.keys()) {
    if (index.has(start)) continue;
    const work: { v: string; i: number }[] = [{ v: start, i: 0 }];
    index.set(start, next);
    low.set(start, next++);
    stack.push(start);
    onStack.add(start);
    while (work.length) {
      const top = work[work.length - 1]!;
      const edges = (graph.get(top.v) ?? []).filter((w) => graph.has(w));
      if (top.i < edges.length) {
        const w = edges[top.i++]!;
        if (!index.has(w)) {
          index.set(w, next);
          low.set(w, next++);
          stack.push(w);
          onStack.add(w);
          work.push({ v: w, i: 0 });
        } else if (onStack.has(w)) {
          low.set(top.v, Math.min(low.get(top.v)!, index.get(w)!));
        }
        continue;
      }
      work.pop();
      if (work.length) {
        const parent = work[work.length - 1]!.v;
        low.set(parent, Math.min(low.get(parent)!, low.get(top.v)!));
      }
      if (low.get(top.v) === index.get(top.v)) {
        const scc: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          scc.push(w);
        } while (w !== top.v);
        if (scc.length > 1 || (graph.get(top.v) ?? []).includes(top.v)) out.push(scc.sort());
      }
    }
  }
  return out;
}

const topOf = (p: string): string => p.split('/')[0]!;

/** Imports that break the layering: upward, into a non-product folder, or from/to a folder missing from the table. */
export function layerViolations(graph: ImportGraph, layers: Record<string, number> = LAYERS, notProduct: string[] = NOT_PRODUCT): string[] {
  const out: string[] = [];
  for (const [from, targets] of graph) {
    const fromTop = topOf(from);
    const fromLayer = layers[fromTop];
    for (const to of targets) {
      const toTop = topOf(to);
      if (toTop === fromTop) continue;
      if (notProduct.includes(toTop)) {
        out.push(`${from} imports ${to}: product code never imports ${toTop}/`);
        continue;
      }
      const toLayer = layers[toTop];
      if (fromLayer === undefined || toLayer === undefined) {
        out.push(`${from} imports ${to}: ${fromLayer === undefined ? fromTop : toTop}/ has no place in the layer table`);
      } else if (toLayer > fromLayer) {
        out.push(`${from} imports ${to}: ${fromTop}/ (layer ${fromLayer}) may not import the higher ${toTop}/ (layer ${toLayer})`);
      }
    }
  }
  return out;
}

/** The modules reachable from the entry points by following imports (dynamic ones too). */
export function reachable(graph: ImportGraph, entries: string[]): Set<string> {
  const seen = new Set<string>();
  const todo = [...entries];
  while (todo.length) {
    const v = todo.pop()!;
    if (seen.has(v)) continue;
    seen.add(v);
    todo.push(...(graph.get(v) ?? []));
  }
  return seen;
}

/**
 * Modules that sit beside a folder of modules of the same name (provision/ops.ts
 * next to provision/ops/): a reader cannot tell which holds what. Paths are
 * root-relative; a folder of data files only (bench/ansible/) does not count.
 */
export function modulesBesideFolders(graph: ImportGraph): string[] {
  const folders = new Set([...graph.keys()].map((f) => f.slice(0, f.lastIndexOf('/'))));
  return [...graph.keys()].filter((f) => folders.has(f.replace(/\.ts$/, ''))).sort();
}
