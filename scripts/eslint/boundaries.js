// The house's import boundaries as one ESLint rule (`trainyard/boundaries`), resolved on real
// paths: each import specifier is resolved against the importing file, then classified by the
// folder it lands in, so `../../db/open` and `../db/open` mean the same thing wherever they appear.
// What each boundary forbids and why: ARCHITECTURE.md, "Contracts and lint rules".
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const rel = (abs) => path.relative(ROOT, abs).split(path.sep).join('/');

/** The layer a repository path belongs to (null: outside the app, e.g. tests and scripts). */
export function layerOf(file) {
  const r = rel(file);
  if (r.startsWith('src/contracts/')) return 'contracts';
  if (r.startsWith('src/lib/')) return 'lib';
  if (r.startsWith('src/db/')) return 'db';
  if (r.startsWith('src/state/')) return 'state';
  if (r.startsWith('src/views/')) return 'views';
  if (r.startsWith('src/components/')) return 'components';
  if (r.startsWith('src/clients/')) return 'clients';
  if (r.startsWith('src/')) return 'app';
  if (/^workers\/[^/]+\.api(\.ts)?$/.test(r)) return 'worker-api';
  if (r.startsWith('workers/')) return 'workers';
  return null;
}

/** Layers that run on the page: they may never load TF.js at run time. */
const MAIN_THREAD = new Set(['db', 'state', 'views', 'components', 'clients', 'app']);

const EXTENSIONS = ['', '.ts', '.js', '.svelte', '.svelte.ts', '/index.ts', '/index.js'];
function resolveFile(abs) {
  for (const ext of EXTENSIONS) {
    if (statSync(abs + ext, { throwIfNoEntry: false })?.isFile()) return abs + ext;
  }
  return null;
}

const isTfPackage = (spec) => spec.startsWith('@tensorflow/');
// Run-time imports only: `import type` and `export type` are erased by TypeScript.
const RUNTIME_IMPORT = /^\s*(?:import|export)\s+(?!type\b)(?:[^'";]*?\sfrom\s*)?['"]([^'"]+)['"]/gm;
const tfCache = new Map();

/**
 * Whether a module loads TF.js at run time, itself or through what it imports (relative imports
 * followed, packages other than @tensorflow/* not). Such a module is worker-only.
 */
export function loadsTf(file, seen = new Set()) {
  if (tfCache.has(file)) return tfCache.get(file);
  if (seen.has(file)) return false;
  seen.add(file);
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return false;
  }
  let found = false;
  for (const m of text.matchAll(RUNTIME_IMPORT)) {
    const spec = m[1];
    if (isTfPackage(spec)) found = true;
    else if (spec.startsWith('.')) {
      const target = resolveFile(path.resolve(path.dirname(file), spec));
      if (target && /\.(ts|js|svelte)$/.test(target) && loadsTf(target, seen)) found = true;
    }
    if (found) break;
  }
  tfCache.set(file, found);
  return found;
}

const FORBIDDEN = {
  contracts: { layers: null, why: 'src/contracts holds types only and imports nothing outside itself' },
  lib: {
    layers: ['db', 'state', 'views', 'components', 'clients', 'app', 'workers', 'worker-api'],
    why: 'src/lib is pure logic: it may import contracts and other lib modules, never db, state, views, components, clients or workers',
  },
  workers: { layers: ['state', 'views', 'components', 'app'], why: 'a worker never imports page code (state, views, components)' },
  'worker-api': { layers: 'only-contracts', why: 'a worker API (workers/*.api.ts) imports contracts (and other worker APIs) only' },
};

function isTypeOnly(node) {
  if (node.importKind === 'type' || node.exportKind === 'type') return true;
  const specs = node.specifiers ?? [];
  return specs.length > 0 && specs.every((s) => s.importKind === 'type' || s.exportKind === 'type');
}

export const boundariesRule = {
  meta: {
    type: 'problem',
    docs: { description: 'Import boundaries between contracts, lib, db, state, views and workers' },
    schema: [],
    messages: {
      layer: '{{from}} may not import {{target}}: {{why}}.',
      idb: 'Only src/db imports idb: everything else reads and writes IndexedDB through src/db.',
      tf: 'The main thread never loads TF.js at run time ({{target}}); use `import type`, or do the work in a worker.',
    },
  },
  create(context) {
    const file = context.filename;
    const from = layerOf(file);
    if (!from) return {};
    function check(node, spec, typeOnly) {
      if (typeof spec !== 'string') return;
      const relative = spec.startsWith('.');
      const targetAbs = relative ? path.resolve(path.dirname(file), spec) : null;
      const target = targetAbs ? layerOf(targetAbs) : null;
      const shown = targetAbs ? rel(targetAbs) : spec;
      // idb: the storage layer's package.
      if ((spec === 'idb' || spec.startsWith('idb/')) && from !== 'db') {
        context.report({ node, messageId: 'idb' });
        return;
      }
      const rule = FORBIDDEN[from];
      if (from === 'contracts' && (!relative || target !== 'contracts')) {
        context.report({ node, messageId: 'layer', data: { from: 'src/contracts', target: shown, why: rule.why } });
        return;
      }
      if (from === 'worker-api' && !(relative && (target === 'contracts' || target === 'worker-api'))) {
        context.report({ node, messageId: 'layer', data: { from: 'A worker API', target: shown, why: rule.why } });
        return;
      }
      if (rule && Array.isArray(rule.layers) && target && rule.layers.includes(target)) {
        context.report({
          node,
          messageId: 'layer',
          data: { from: rel(file).split('/').slice(0, 2).join('/'), target: shown, why: rule.why },
        });
        return;
      }
      if (MAIN_THREAD.has(from) && !typeOnly) {
        if (isTfPackage(spec)) context.report({ node, messageId: 'tf', data: { target: spec } });
        else if (target === 'workers') context.report({ node, messageId: 'tf', data: { target: shown } });
        else if (target === 'lib') {
          const resolved = resolveFile(targetAbs);
          if (resolved && loadsTf(resolved)) context.report({ node, messageId: 'tf', data: { target: `${shown} loads TF.js` } });
        }
      }
    }
    return {
      ImportDeclaration: (node) => check(node, node.source.value, isTypeOnly(node)),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source.value, isTypeOnly(node)),
      ExportAllDeclaration: (node) => check(node, node.source.value, node.exportKind === 'type'),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source.value, false),
    };
  },
};

export default { rules: { boundaries: boundariesRule } };
