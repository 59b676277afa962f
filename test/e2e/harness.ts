// Helpers for the end-to-end tests: launch the system Chromium through playwright-core with the
// flags that work on headless CI machines, open pages that record every console error, uncaught
// page error and CSP violation, and build URLs against the server started by global-setup.ts.
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { inject } from 'vitest';
import { findChromium } from '../../scripts/ensure-chromium.mjs';
import { BASE_FLAGS, WEBGPU_FLAGS } from './chromium-flags';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Root URL of the built app, e.g. "http://localhost:41234/" (set by global-setup.ts). */
    baseUrl: string;
    /** A closed profile holding the imported Digits demo (set by global-setup.ts). */
    demoProfile: string;
  }
}

export { BASE_FLAGS, WEBGPU_FLAGS } from './chromium-flags';

export interface LaunchOptions {
  /** Persistent profile directory (IndexedDB, service worker, OPFS survive a relaunch). */
  userDataDir?: string;
  /** Add the WebGPU flags (default true). */
  webgpu?: boolean;
  /** More Chromium flags. */
  args?: string[];
  /**
   * Start as a returning visitor whose first-run Digits demo import has finished: the profile
   * global-setup.ts made is copied (into `userDataDir` when given, which must not exist yet or be
   * empty; else into a temp folder removed on close). Without it the browser makes a first visit
   * and the app imports the demo while the test runs, as a newcomer's does.
   */
  demoImported?: boolean;
}

export interface LaunchedBrowser {
  /** The browser; null for a persistent (userDataDir) launch, which Playwright exposes only as a context. */
  browser: Browser | null;
  /** Where pages open: the persistent context, or one fresh context of `browser`. */
  context: BrowserContext;
  userDataDir?: string;
  close(): Promise<void>;
  /**
   * SIGKILL the browser process, as a crash would (persistent launches only, Linux /proc).
   * Use it to check what survives a crash: relaunch on the same userDataDir afterwards.
   */
  kill(): void;
}

/** Launch the system Chromium (CHROME_PATH or a well-known path). */
export async function launchBrowser(opts: LaunchOptions = {}): Promise<LaunchedBrowser> {
  const executablePath = findChromium();
  const args = [...BASE_FLAGS, ...(opts.webgpu === false ? [] : WEBGPU_FLAGS), ...(opts.args ?? [])];
  const common = { executablePath, headless: true, args, timeout: 60_000 };
  let tempProfile: string | null = null;
  let userDataDir = opts.userDataDir;
  if (opts.demoImported) {
    if (!userDataDir) userDataDir = tempProfile = mkdtempSync(join(tmpdir(), 'trainyard-e2e-profile-'));
    else if (existsSync(userDataDir) && readdirSync(userDataDir).length > 0) throw new Error(`demoImported: ${userDataDir} is not empty`);
    cpSync(inject('demoProfile'), userDataDir, { recursive: true });
  }
  if (userDataDir) {
    const dir = userDataDir;
    const context = await chromium.launchPersistentContext(dir, common);
    return {
      browser: null,
      context,
      userDataDir: dir,
      close: async () => {
        await context.close().catch(() => {});
        if (tempProfile) rmSync(tempProfile, { recursive: true, force: true });
      },
      kill: () => killBrowserUsing(dir),
    };
  }
  const browser = await chromium.launch(common);
  const context = await browser.newContext();
  return {
    browser,
    context,
    close: () => browser.close().catch(() => {}),
    kill: () => {
      throw new Error('kill() needs a persistent launch: launchBrowser({ userDataDir })');
    },
  };
}

/** Kill the Chromium browser process (not its helpers) whose profile is userDataDir. */
function killBrowserUsing(userDataDir: string): void {
  const marker = `--user-data-dir=${userDataDir}`;
  let killed = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // exited meanwhile
    }
    // The browser process is the one without --type= (renderer, gpu-process, utility ...).
    if (argv.includes(marker) && !argv.some((a) => a.startsWith('--type='))) {
      process.kill(Number(pid), 'SIGKILL');
      killed++;
    }
  }
  if (killed === 0) throw new Error(`no Chromium process found for ${userDataDir}`);
}

export interface CspViolation {
  blockedURI: string;
  violatedDirective: string;
  effectiveDirective: string;
  sourceFile: string;
  lineNumber: number;
  sample: string;
  documentURI: string;
}

export interface Recorder {
  /** Text of every console.error (and console "error"-level browser message) so far. */
  consoleErrors(): string[];
  /** Uncaught exceptions and unhandled rejections in the page so far. */
  pageErrors(): string[];
  /** CSP violations so far, across navigations and reloads. */
  cspViolations(): CspViolation[];
  /** Everything above as readable lines; `expect(page.problems()).toEqual([])` in a test. */
  problems(): string[];
  /** Forget what was recorded (e.g. after a step that is expected to log errors). */
  clearRecorded(): void;
}

export type TrackedPage = Page & Recorder;

// Runs in every document before its own scripts: collect CSP violations on window (for tests
// that look in the page) and report them to Node so they survive navigations.
const CSP_INIT_SCRIPT = `(() => {
  window.__cspViolations = window.__cspViolations || [];
  document.addEventListener('securitypolicyviolation', (e) => {
    const v = {
      blockedURI: e.blockedURI, violatedDirective: e.violatedDirective,
      effectiveDirective: e.effectiveDirective, sourceFile: e.sourceFile,
      lineNumber: e.lineNumber, sample: e.sample, documentURI: e.documentURI,
    };
    window.__cspViolations.push(v);
    try { if (typeof window.__trainyardReportCsp === 'function') window.__trainyardReportCsp(v); } catch {}
  });
})();`;

/** A new page that records console errors, page errors and CSP violations. */
export async function newPage(target: LaunchedBrowser | BrowserContext | Browser): Promise<TrackedPage> {
  const context: BrowserContext | null =
    'context' in target ? target.context : 'newPage' in target && 'pages' in target ? (target as BrowserContext) : null;
  const page = context ? await context.newPage() : await (target as Browser).newPage();

  let consoleErrors: string[] = [];
  let pageErrors: string[] = [];
  let csp: CspViolation[] = [];

  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const loc = msg.location();
    consoleErrors.push(loc?.url ? `${msg.text()} (${loc.url}:${loc.lineNumber})` : msg.text());
  });
  page.on('pageerror', (err) => pageErrors.push(err.stack || String(err)));
  await page.exposeFunction('__trainyardReportCsp', (v: CspViolation) => {
    csp.push(v);
  });
  await page.addInitScript(CSP_INIT_SCRIPT);

  const recorder: Recorder = {
    consoleErrors: () => [...consoleErrors],
    pageErrors: () => [...pageErrors],
    cspViolations: () => [...csp],
    problems: () => [
      ...consoleErrors.map((t) => `console.error: ${t}`),
      ...pageErrors.map((t) => `page error: ${t}`),
      ...csp.map((v) => `CSP violation: ${v.effectiveDirective} blocked ${v.blockedURI || '(inline)'} in ${v.sourceFile || v.documentURI}`),
    ],
    clearRecorded: () => {
      consoleErrors = [];
      pageErrors = [];
      csp = [];
    },
  };
  return Object.assign(page, recorder);
}

/** Absolute URL of `path` on the test server (default: the app root). */
export function appUrl(path = '/'): string {
  const base = inject('baseUrl');
  if (!base) throw new Error('baseUrl was not provided: is test/e2e/global-setup.ts in globalSetup?');
  return new URL(path.replace(/^\//, ''), base).href;
}
