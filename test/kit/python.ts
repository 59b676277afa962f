// Finds a Python with PyTorch for the kit's tests. Debian's python3-torch lives under
// /usr/bin/python3 (a pyenv python3 earlier on PATH may lack it). CI installs it when it runs as
// root (.ci/run), so there a missing torch is a failure; elsewhere the tests skip, saying why.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const KIT_PYTHON_DIR = fileURLToPath(new URL('../../src/lib/kit/python', import.meta.url));

function probe(python: string): string | null {
  try {
    return execFileSync(python, ['-c', 'import torch, numpy; print(torch.__version__)'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return null;
  }
}

export interface TorchPython {
  python: string | null;
  /** Why the tests skip when python is null. */
  reason: string;
}

export function findTorchPython(): TorchPython {
  const candidates = [process.env.TRAINYARD_PYTHON, '/usr/bin/python3', 'python3'].filter((p): p is string => !!p);
  for (const python of candidates) {
    const version = probe(python);
    if (version) return { python, reason: `PyTorch ${version} at ${python}` };
  }
  const reason = 'PyTorch is not installed (apt-get install -y python3-torch, or set TRAINYARD_PYTHON to a python with torch and numpy)';
  if (process.getuid?.() === 0 && process.env.CI_SKIP_TORCH !== '1') {
    throw new Error(`${reason}; running as root, where .ci/run installs it, so this is a failure, not a skip.`);
  }
  console.warn(`[kit tests] SKIPPED: ${reason}.`);
  return { python: null, reason };
}
