import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
import { findCycles, importGraph } from './import-cycles';

const root = path.resolve(import.meta.dirname, '..');

/** Lints one virtual file with only the server's layering rule, as `npm run lint` applies it. */
async function layerErrors(file: string, code: string): Promise<string[]> {
  // eslint.config.mjs is plain JavaScript; its exported rule block is what `npm run lint` uses.
  const config = pathToFileURL(path.join(root, 'eslint.config.mjs')).href;
  const { serverLayerConfig } = (await import(config)) as { serverLayerConfig: object };
  const eslint = new ESLint({
    cwd: root,
    overrideConfigFile: true,
    overrideConfig: [{ files: ['**/*.ts'], languageOptions: { parser: tseslint.parser } }, serverLayerConfig],
  });
  const [result] = await eslint.lintText(code, { filePath: path.join(root, file) });
  return result!.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

describe('server layering (npm run lint)', () => {
  it('refuses a lower layer importing a higher one', async () => {
    const errors = await layerErrors('sync-server/src/sync/probe.ts', "import { endpoint } from '../http/endpoint';\nexport const e = endpoint;\n");
    expect(errors.join('\n')).toMatch(/no-restricted-paths.*layer imports only the layers below it/);
    const fromDb = await layerErrors('sync-server/src/db/probe.ts', "import type { Caller } from '../access/caller';\nexport type C = Caller;\n");
    expect(fromDb.join('\n')).toMatch(/no-restricted-paths/);
  });

  it('allows imports downwards and within a layer', async () => {
    expect(await layerErrors('sync-server/src/http/probe.ts', "import { pushMutations } from '../sync/push';\nexport const p = pushMutations;\n")).toEqual([]);
    expect(await layerErrors('sync-server/src/sync/probe.ts', "import { recordChange } from './change-log';\nexport const r = recordChange;\n")).toEqual([]);
  });
});

describe('import cycles (npm run lint)', () => {
  function withFiles(files: Record<string, string>): string[] {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'depotline-cycles-'));
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
    return Object.keys(files).map((n) => path.join(dir, n));
  }

  it('finds a circle made of type-only imports', () => {
    const files = withFiles({
      'app.ts': "import type { ScreenProps } from './screen';\nexport type AppProps = { screen: ScreenProps };\n",
      'screen.ts': "import type { AppProps } from './app';\nexport type ScreenProps = { app?: AppProps };\n",
      'alone.ts': 'export const alone = 1;\n',
    });
    const cycles = findCycles(importGraph(files));
    expect(cycles.map((c) => c.map((f) => path.basename(f)))).toEqual([['app.ts', 'screen.ts']]);
  });

  it('finds none where imports only go one way', () => {
    const files = withFiles({ 'a.ts': "import { b } from './b';\nexport const a = b;\n", 'b.ts': 'export const b = 1;\n' });
    expect(findCycles(importGraph(files))).toEqual([]);
  });
});
