// What `npm test` runs: makes sure a browser exists and the built app is current, runs every
// Vitest project (unit + e2e), and ends with one machine-readable line "N passed, N failed".
// Extra arguments go to Vitest, e.g. `npm test -- --project unit`.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS = join(ROOT, 'test-results', 'vitest.json');
// Inputs of `npm run build`: if any is newer than dist/index.html, dist/ is stale.
const BUILD_INPUTS = ['src', 'workers', 'public', 'index.html', 'vite.config.ts', 'svelte.config.js', 'package-lock.json'];
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

// `node scripts/test.mjs -- --project unit` passes a literal "--" (npm strips it); Vitest would
// then ignore the options after it, so drop it.
const extraArgs = process.argv.slice(2).filter((a, i) => !(i === 0 && a === '--'));

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit', shell: process.platform === 'win32' });
  if (r.error) console.error(r.error.message);
  return r.status ?? 1;
}

function newestMtime(path) {
  let st;
  try {
    st = statSync(path);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

/** The projects named with --project (either form); empty means all of them. */
function requestedProjects(args) {
  const names = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--project' && args[i + 1]) names.push(args[++i]);
    else if (args[i].startsWith('--project=')) names.push(args[i].slice('--project='.length));
  }
  return names;
}

function summaryLine(passed, failed, skipped) {
  return `${passed} passed, ${failed} failed` + (skipped > 0 ? `, ${skipped} skipped` : '');
}

const projects = requestedProjects(extraArgs);
// Unit-only runs need neither a browser nor a build; don't make them pay for one.
const needsBrowser = projects.length === 0 || projects.some((p) => p.includes('e2e') || p.includes('*'));

if (needsBrowser) {
  // (a) a browser for the e2e project (installs Debian's chromium as root when missing)
  if (run(process.execPath, [join(ROOT, 'scripts', 'ensure-chromium.mjs')]) !== 0) {
    console.log(summaryLine(0, 0, 0));
    process.exit(1);
  }

  // (b) rebuild dist/ when it is missing or older than any build input
  const indexHtml = join(ROOT, 'dist', 'index.html');
  const builtAt = existsSync(indexHtml) ? statSync(indexHtml).mtimeMs : 0;
  const inputsAt = Math.max(...BUILD_INPUTS.map((p) => newestMtime(join(ROOT, p))));
  if (builtAt === 0 || inputsAt > builtAt) {
    console.log(builtAt === 0 ? 'dist/ is missing: building...' : 'dist/ is stale: rebuilding...');
    if (run(npm, ['run', 'build']) !== 0) {
      console.error('Build failed.');
      console.log(summaryLine(0, 0, 0));
      process.exit(1);
    }
  } else {
    console.log('dist/ is up to date.');
  }
}

// (c) PyTorch for the training kit's tests (installs Debian's python3-torch as root when missing;
// otherwise says why those tests will skip). Its own exit status never stops the run: the kit tests
// themselves fail, as root, when PyTorch is still missing.
run('bash', [join(ROOT, 'scripts', 'ensure-torch.sh')]);

// (d) all Vitest projects; the JSON report is what the summary below is computed from.
// Remove the old report first so a crashed run can't be summarised from stale numbers.
rmSync(RESULTS, { force: true });
const vitestStatus = run(npx, [
  'vitest',
  'run',
  '--reporter=default',
  '--reporter=json',
  `--outputFile=${join('test-results', 'vitest.json')}`,
  ...extraArgs,
]);

// (e) summary
let report = null;
try {
  report = JSON.parse(readFileSync(RESULTS, 'utf8'));
} catch {
  console.error(`No Vitest JSON report at ${RESULTS} (Vitest exited with ${vitestStatus}).`);
}
const passed = report?.numPassedTests ?? 0;
const failed = report?.numFailedTests ?? 0;
const skipped = (report?.numPendingTests ?? 0) + (report?.numTodoTests ?? 0);
// A test file that fails to load (syntax error, failing globalSetup) fails no individual test;
// say so explicitly, because the counts alone would look clean.
const brokenFiles = (report?.testResults ?? []).filter(
  (f) => f.status === 'failed' && (f.assertionResults ?? []).every((a) => a.status !== 'failed'),
);
for (const f of brokenFiles) {
  console.error(`Test file failed to run: ${f.name}${f.message ? `\n  ${f.message.split('\n')[0]}` : ''}`);
}
if (report && passed + failed === 0) console.error('No tests ran.');

const ok = vitestStatus === 0 && report !== null && failed === 0 && passed + failed > 0 && brokenFiles.length === 0;
console.log(summaryLine(passed, failed, skipped));
process.exit(ok ? 0 : 1);
