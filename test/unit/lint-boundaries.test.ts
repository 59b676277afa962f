// The import boundaries (scripts/eslint/boundaries.js, wired in eslint.config.js) must actually
// fire: each case lints a small snippet under a made-up path through ESLint's Node API with the
// repository's own config, and expects the boundary error (or, for the allowed twin, none).
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

const eslint = new ESLint({ cwd: process.cwd() });

async function boundaryErrors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return result.messages.filter((m) => m.ruleId === 'trainyard/boundaries').map((m) => m.message);
}

const cases: Array<[string, string, string, RegExp | null]> = [
  // [what, file, code, expected message (null: allowed)]
  [
    'contracts import a lib module',
    'src/contracts/fake.ts',
    "import type { X } from '../lib/util/errors';",
    /src\/contracts may not import src\/lib\/util\/errors/,
  ],
  ['contracts import a package', 'src/contracts/fake.ts', "import type { Remote } from 'comlink';", /may not import comlink/],
  ['contracts import each other', 'src/contracts/fake.ts', "import type { SampleRecord } from './records';", null],
  ['lib imports db', 'src/lib/util/fake.ts', "import { db } from '../../db/open';", /src\/lib may not import src\/db\/open/],
  [
    'lib imports db types',
    'src/lib/util/fake.ts',
    "import type { TrainyardDB } from '../../db/schema';",
    /src\/lib may not import src\/db\/schema/,
  ],
  [
    'lib imports state',
    'src/lib/util/fake.ts',
    "import { Router } from '../../state/router.svelte';",
    /src\/lib may not import src\/state/,
  ],
  ['lib imports views', 'src/lib/util/fake.ts', "import V from '../../views/data/DataView.svelte';", /src\/lib may not import src\/views/],
  [
    'lib imports a worker API',
    'src/lib/data/fake.ts',
    "import type { ImportSource } from '../../../workers/import.api';",
    /src\/lib may not import workers\/import\.api/,
  ],
  ['lib imports contracts', 'src/lib/util/fake.ts', "import type { SampleRecord } from '../../contracts/records';", null],
  ['state imports idb', 'src/state/fake.svelte.ts', "import { openDB } from 'idb';", /Only src\/db imports idb/],
  ['a worker imports idb', 'workers/fake.ts', "import { openDB } from 'idb';", /Only src\/db imports idb/],
  ['db imports idb', 'src/db/fake.ts', "import { openDB } from 'idb';", null],
  ['state loads TF.js', 'src/state/fake.svelte.ts', "import * as tf from '@tensorflow/tfjs';", /never loads TF\.js/],
  ['state imports TF.js types', 'src/state/fake.svelte.ts', "import type { Tensor } from '@tensorflow/tfjs';", null],
  ['a view loads TF.js lazily', 'src/views/fake.ts', "export const load = () => import('@tensorflow/tfjs');", /never loads TF\.js/],
  [
    'a view loads a TF.js lib module',
    'src/views/fake.ts',
    "import { makeOptimizer } from '../lib/ml/optimizers';",
    /src\/lib\/ml\/optimizers loads TF\.js/,
  ],
  [
    'a component re-exports a TF.js lib module',
    'src/components/fake.ts',
    "export { makeOptimizer } from '../lib/ml/optimizers';",
    /loads TF\.js/,
  ],
  ['a view imports a TF.js lib module for types', 'src/views/fake.ts', "import type { WeightsBlob } from '../lib/ml/checkpoint';", null],
  ['a view imports a TF.js-free lib module', 'src/views/fake.ts', "import { formatBytes } from '../lib/util/format';", null],
  [
    'the page imports worker code',
    'src/clients/fake.ts',
    "import { chooseBackend } from '../../workers/ml/backend';",
    /never loads TF\.js/,
  ],
  [
    'a worker imports state',
    'workers/ml/fake.ts',
    "import { Router } from '../../src/state/router.svelte';",
    /may not import src\/state\/router\.svelte: a worker never imports page code/,
  ],
  ['a worker imports a view', 'workers/fake.ts', "import V from '../src/views/data/DataView.svelte';", /a worker never imports page code/],
  [
    'a worker API imports lib',
    'workers/fake.api.ts',
    "import type { ImportPlanSummary } from '../src/lib/import/plan';",
    /A worker API may not import src\/lib\/import\/plan/,
  ],
  [
    'a worker API imports worker code',
    'workers/fake.api.ts',
    "import type { RunConfig } from './ml/train-runner';",
    /A worker API may not import workers\/ml\/train-runner/,
  ],
  ['a worker API imports contracts', 'workers/fake.api.ts', "import type { SampleRecord } from '../src/contracts/records';", null],
];

describe('lint import boundaries', () => {
  // Loading the config (typescript-eslint, the Svelte parser) takes seconds on a busy 2-core machine.
  beforeAll(() => eslint.lintText('', { filePath: 'src/lib/fake.ts' }), 60_000);

  it.each(cases)('%s', async (_what, file, code, expected) => {
    const errors = await boundaryErrors(file, code);
    if (expected === null) expect(errors).toEqual([]);
    else {
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(expected);
    }
  });

  it('checks imports inside Svelte components too', async () => {
    const code = "<script lang=\"ts\">\n  import * as tf from '@tensorflow/tfjs';\n  import { openDB } from 'idb';\n</script>\n";
    const errors = await boundaryErrors('src/views/Fake.svelte', code);
    expect(errors).toHaveLength(2);
    expect(errors.join('\n')).toMatch(/never loads TF\.js/);
    expect(errors.join('\n')).toMatch(/Only src\/db imports idb/);
  });
});
