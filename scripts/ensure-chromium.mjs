// Finds the Chromium/Chrome binary the end-to-end tests drive through playwright-core (which
// downloads no browser of its own). As a CLI it also installs Debian's chromium on a fresh CI
// machine when running as root, so `.ci/run` and `npm test` work without manual setup.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';

export const CANDIDATES = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
  '/opt/google/chrome/chrome',
];

export const NOT_FOUND_MESSAGE =
  'No Chromium or Chrome found. Install one (Debian/Ubuntu: sudo apt-get install -y chromium) ' + 'or set CHROME_PATH=/path/to/chrome.';

/**
 * Path of the browser to drive: CHROME_PATH when set (it must exist), otherwise the first
 * well-known install location that exists. Throws when there is none.
 * @returns {string}
 */
export function findChromium() {
  const override = process.env.CHROME_PATH;
  if (override) {
    // An explicit override that is wrong should fail loudly, not silently fall back.
    if (!existsSync(override)) throw new Error(`CHROME_PATH is set to ${override}, which does not exist.`);
    return override;
  }
  const found = CANDIDATES.find((p) => existsSync(p));
  if (!found) throw new Error(NOT_FOUND_MESSAGE);
  return found;
}

function tryFind() {
  try {
    return { path: findChromium() };
  } catch (err) {
    return { error: /** @type {Error} */ (err) };
  }
}

function hasAptGet() {
  return spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
}

function main() {
  let { path, error } = tryFind();
  // Only attempt an install when nothing was configured: a bad CHROME_PATH is a user error.
  if (!path && !process.env.CHROME_PATH && process.getuid?.() === 0 && hasAptGet()) {
    console.log('No Chromium found; installing Debian chromium with apt-get (running as root)...');
    const r = spawnSync('sh', ['-c', 'apt-get update && apt-get install -y chromium'], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (r.status !== 0) console.error(`apt-get failed with exit code ${r.status}.`);
    ({ path, error } = tryFind());
  }
  if (!path) {
    console.error(error?.message ?? NOT_FOUND_MESSAGE);
    process.exit(1);
  }
  // stderr is captured and shown only on failure: Debian's launcher script prints harmless shell
  // noise (its /dev/shm size check) that would otherwise look like an error in CI logs.
  const r = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) {
    console.error(`Found ${path}, but \`${path} --version\` failed (exit ${r.status}):`);
    console.error((r.stderr || r.error?.message || '').trim());
    process.exit(1);
  }
  console.log(`Chromium: ${path} (${r.stdout.trim()})`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
