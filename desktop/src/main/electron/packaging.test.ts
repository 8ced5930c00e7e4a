/**
 * Packaging (issue 16). The Electron binary cannot be downloaded here, so electron-builder
 * cannot run; everything it does not need runs instead, through desktop/scripts/packaging-checks.mjs
 * (the same checks `npm run desktop:package` runs first): the config through electron-builder's
 * own schema validation, app.asar built with @electron/asar from what `files` selects, and that
 * archive inspected. The synthetic apps below are real directories and real archives: they
 * prove each check catches what it is for.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import asar from '@electron/asar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAppAsar, checkAppAsar, loadBuilderConfig, requiredFuses, runPackagingChecks, selectAppFiles, validateBuilderConfig, type BuilderConfig } from '../../../scripts/packaging-checks.mjs';

const repo = path.resolve(import.meta.dirname, '../../../..');
const desktop = path.join(repo, 'desktop');

interface Targets {
  linux: { target: string[] };
  win: { target: string[] };
  mac: { target: string[]; hardenedRuntime: boolean };
  nsis: { perMachine: boolean };
  msi: { perMachine: boolean; upgradeCode: string };
}

describe('packaging (electron-builder.yml)', () => {
  const config = loadBuilderConfig();

  it('19: sets the Electron fuses that close Node and inspector back doors and pin the app to its asar', () => {
    expect(config.electronFuses).toEqual({
      runAsNode: false,
      enableCookieEncryption: true,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
      grantFileProtocolExtraPrivileges: false,
    });
    expect(requiredFuses).toEqual(config.electronFuses);
  });

  it('packages the built console from the desktop workspace, with native modules outside the asar', () => {
    expect(config.directories?.app).toBe('desktop');
    const pkg = JSON.parse(fs.readFileSync(path.join(desktop, 'package.json'), 'utf8')) as { main: string; dependencies: Record<string, string>; optionalDependencies?: Record<string, string> };
    expect(pkg.main).toBe('dist/app/main.js');
    // Runtime dependencies are only what the bundles load at run time (native modules); what
    // esbuild and Vite bundle is a devDependency, so it is not shipped a second time.
    // @journeyapps/sqlcipher is optional: it does not build on Windows (the other driver does).
    expect(Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies }).sort()).toEqual(['@journeyapps/sqlcipher', 'better-sqlite3-multiple-ciphers', 'keytar']);
    expect(config.files?.filter((f) => !f.startsWith('!'))).toEqual(['dist/app/**/*', 'package.json']);
    expect(config.files).toEqual(expect.arrayContaining(['!e2e/**', '!**/*.map', '!**/*.test.*']));
    expect(config.asar).toBe(true);
    expect(config.asarUnpack).toContain('**/*.node');
  });

  it('builds AppImage and deb for Linux, NSIS and MSI for Windows (per machine), dmg for macOS', () => {
    const targets = config as unknown as Targets;
    expect(targets.linux.target).toEqual(expect.arrayContaining(['AppImage', 'deb']));
    expect(targets.win.target).toEqual(['nsis', 'msi']);
    expect(targets.nsis.perMachine).toBe(true);
    expect(targets.msi.perMachine).toBe(true);
    expect(targets.msi.upgradeCode).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(targets.mac.target).toEqual(['dmg']);
    expect(targets.mac.hardenedRuntime).toBe(true);
  });

  it("validates against electron-builder's schema, which refuses a misspelt or mistyped option", async () => {
    await expect(validateBuilderConfig(config)).resolves.toBeUndefined();
    await expect(validateBuilderConfig({ ...config, nsis: { oneClick: false, perMachin: true } })).rejects.toThrow(/does not match the API schema[\s\S]*configuration\.nsis/);
    await expect(validateBuilderConfig({ ...config, asarUnpack: { pattern: '**/*.node' } as unknown as string[] })).rejects.toThrow(/configuration\.asarUnpack/);
    await expect(validateBuilderConfig({ ...config, electronFuses: { ...requiredFuses, runAsNod: false } })).rejects.toThrow(/configuration\.electronFuses/);
  });

  it('the root engines and the README ask for the Node version the installed Electron needs', () => {
    const electron = JSON.parse(fs.readFileSync(path.join(repo, 'node_modules/electron/package.json'), 'utf8')) as { engines: { node: string } };
    const root = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8')) as { engines: { node: string }; scripts: Record<string, string> };
    const needed = /(\d+\.\d+)(\.\d+)?/.exec(electron.engines.node)?.[0] ?? 'none';
    expect(root.engines.node.replace(/\s/g, '')).toBe(electron.engines.node.replace(/\s/g, ''));
    expect(fs.readFileSync(path.join(repo, 'README.md'), 'utf8')).toContain(`Node ${needed.replace(/\.0$/, '')} or later`);
    // setup tries the Electron download instead of forcing the skip
    expect(root.scripts.setup).not.toContain('ELECTRON_SKIP_BINARY_DOWNLOAD');
  });
});

describe('app.asar as electron-builder would pack it (the real console build)', () => {
  let work: string;
  let result: Awaited<ReturnType<typeof runPackagingChecks>>;

  beforeAll(async () => {
    fs.mkdirSync(path.join(desktop, 'dist'), { recursive: true });
    work = fs.mkdtempSync(path.join(desktop, 'dist', 'packaging-test-'));
    const build = spawnSync(process.execPath, [path.join(desktop, 'scripts/build.mjs'), '--out', path.join(work, 'app')], { encoding: 'utf8', timeout: 120_000 });
    expect(build.status, build.stderr).toBe(0);
    result = await runPackagingChecks({ built: path.join(work, 'app'), keep: path.join(work, 'out') });
  }, 180_000);

  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('passes every check', () => {
    expect(result.problems).toEqual([]);
  });

  it('holds the built main, preload and renderer and package.json, and no source, test or e2e file', () => {
    expect(result.files).toEqual(expect.arrayContaining(['package.json', 'dist/app/main.js', 'dist/app/preload.cjs', 'dist/app/renderer/index.html']));
    const own = result.files.filter((f) => !f.startsWith('node_modules/'));
    expect(own.every((f) => f === 'package.json' || f.startsWith('dist/app/'))).toBe(true);
    expect(result.files.filter((f) => /\.map$|(^|\/)e2e\/|test-host/.test(f))).toEqual([]);
  });

  it('holds the runtime dependencies and none of the build or test tools', () => {
    expect(result.packages).toEqual(expect.arrayContaining(['keytar', '@journeyapps/sqlcipher', 'better-sqlite3-multiple-ciphers']));
    // bundled into main.js and the renderer, so not shipped again
    for (const bundled of ['react', 'maplibre-gl', 'exceljs', 'zod', 'socket.io-client']) expect(result.packages).not.toContain(bundled);
    for (const tool of ['electron', 'electron-builder', 'vite', 'esbuild', 'vitest', 'playwright-core', 'typescript']) expect(result.packages).not.toContain(tool);
  });

  it('keeps the SQLCipher and keytar native modules outside the archive, where Electron can load them', () => {
    const archive = result.archive ?? '';
    for (const native of ['node_modules/keytar/build/Release/keytar.node', 'node_modules/@journeyapps/sqlcipher/build/Release/node_sqlite3.node']) {
      expect(result.unpackedFiles).toContain(native);
      expect(fs.existsSync(path.join(`${archive}.unpacked`, native))).toBe(true);
    }
    // and the archive itself is a real asar electron can read: its package.json names the main
    const pkg = JSON.parse(asar.extractFile(archive, 'package.json').toString('utf8')) as { main: string };
    expect(asar.extractFile(archive, pkg.main).length).toBeGreaterThan(1000);
  });

  it('the natives load from the extracted archive alone (nothing the files patterns leave out is needed)', () => {
    // Built for this Node, not Electron (electron-builder rebuilds them when it packages), so
    // Node loads them here. Extracted outside the repository, so nothing resolves from it.
    const extracted = fs.mkdtempSync(path.join(os.tmpdir(), 'depotline-asar-extract-'));
    try {
      asar.extractAll(result.archive ?? '', extracted);
      const probe = `
        const { createRequire } = require('node:module');
        const load = createRequire(${JSON.stringify(path.join(extracted, 'package.json'))});
        const out = {};
        out.keytar = typeof load('keytar').getPassword;
        const Better = load('better-sqlite3-multiple-ciphers');
        const db = new Better(':memory:');
        out.multipleCiphers = db.pragma('cipher', { simple: true });
        db.close();
        const sqlcipher = load('@journeyapps/sqlcipher');
        const conn = new sqlcipher.Database(':memory:');
        conn.get('PRAGMA cipher_version', (error, row) => {
          out.sqlcipher = error ? String(error) : row.cipher_version;
          out.resolvedFrom = load.resolve('keytar');
          console.log(JSON.stringify(out));
          conn.close();
        });`;
      const run = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8', cwd: extracted, timeout: 60_000 });
      expect(run.status, run.stderr).toBe(0);
      const loaded = JSON.parse(run.stdout) as { keytar: string; multipleCiphers: string; sqlcipher: string; resolvedFrom: string };
      expect(loaded.keytar).toBe('function');
      expect(loaded.multipleCiphers).toMatch(/\w/);
      expect(loaded.sqlcipher).toMatch(/^4\./);
      expect(loaded.resolvedFrom.startsWith(extracted)).toBe(true);
    } finally {
      fs.rmSync(extracted, { recursive: true, force: true });
    }
  });
});

describe('the asar checks catch what they are for (a synthetic app)', () => {
  let app: string;
  let out: string;
  const write = (file: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(app, file)), { recursive: true });
    fs.writeFileSync(path.join(app, file), text);
  };

  beforeAll(() => {
    app = fs.mkdtempSync(path.join(os.tmpdir(), 'depotline-pack-app-'));
    out = fs.mkdtempSync(path.join(os.tmpdir(), 'depotline-pack-out-'));
    write('package.json', JSON.stringify({ name: 'app', version: '1.0.0', main: 'dist/app/main.js', dependencies: { native: '1.0.0' }, devDependencies: { devtool: '1.0.0' } }));
    write('dist/app/main.js', '// src/main.ts\nconsole.log(1);\n');
    write('dist/app/main.js.map', '{"sourcesContent":["const secret = 1"]}');
    write('e2e/host/test-host.ts', 'export {};');
    write('src/main.ts', 'console.log(1);');
    write('node_modules/native/package.json', JSON.stringify({ name: 'native', version: '1.0.0' }));
    write('node_modules/native/build/Release/binding.node', 'ELF');
    write('node_modules/devtool/package.json', JSON.stringify({ name: 'devtool', version: '1.0.0' }));
    write('node_modules/devtool/index.js', '');
  });

  afterAll(() => {
    fs.rmSync(app, { recursive: true, force: true });
    fs.rmSync(out, { recursive: true, force: true });
  });

  const pack = async (config: BuilderConfig, extra: Array<[string, string]> = []) => {
    const dir = fs.mkdtempSync(path.join(out, 'a-'));
    const { files } = selectAppFiles({ appDir: app, config });
    const built = await buildAppAsar({ files: [...files, ...extra], config, outDir: dir });
    return { selected: files, ...checkAppAsar({ ...built, appDir: app, config }) };
  };
  const base: BuilderConfig = { files: ['dist/app/**/*', 'package.json', '!**/*.map', '!**/*.test.*', '!**/test/**', '!e2e/**'], asarUnpack: ['**/*.node'], electronFuses: { ...requiredFuses } };

  it("the project's `files` and `asarUnpack` leave out maps, sources and the test host and unpack natives", async () => {
    const result = await pack(base);
    expect(result.problems).toEqual([]);
    expect(result.selected.map(([, target]) => target).sort()).toEqual(['dist/app/main.js', 'node_modules/native/build/Release/binding.node', 'node_modules/native/package.json', 'package.json']);
  });

  it('everything in: the test host, the source map, the sources and a packed native module are each refused', async () => {
    const result = await pack({ ...base, files: ['**/*'], asarUnpack: [] });
    expect(result.problems).toEqual(
      expect.arrayContaining([
        'e2e/host/test-host.ts: the e2e test host is packaged',
        'dist/app/main.js.map: a source map is packaged (it carries the sources)',
        'src/main.ts: source code is packaged',
        'node_modules/native/build/Release/binding.node: a native module inside the archive cannot be loaded (asarUnpack must keep it outside)',
      ]),
    );
  });

  it('a dev dependency in the archive is refused', async () => {
    const result = await pack(base, [
      [path.join(app, 'node_modules/devtool/package.json'), 'node_modules/devtool/package.json'],
      [path.join(app, 'node_modules/devtool/index.js'), 'node_modules/devtool/index.js'],
    ]);
    expect(result.problems).toEqual(['node_modules/devtool: a dev dependency (devtool@1.0.0) is packaged']);
  });

  it('a bundle with an inline source map, a private key, bundled test code or a bundled native package is refused', async () => {
    const main = path.join(app, 'dist/app/main.js');
    const before = fs.readFileSync(main, 'utf8');
    fs.writeFileSync(main, `// src/core/testing/store.ts\n// node_modules/native/index.js\nconst k = "-----BEGIN PRIVATE KEY-----";\n//# sourceMappingURL=data:application/json;base64,e30=\n`);
    try {
      const result = await pack(base);
      expect(result.problems).toEqual(
        expect.arrayContaining([
          'dist/app/main.js: an inline source map is packaged (it carries the sources)',
          'dist/app/main.js: contains a private key',
          'dist/app/main.js: bundles test source src/core/testing/store.ts',
          'dist/app/main.js: bundles native, whose native module then cannot be found (keep it external in the build)',
        ]),
      );
    } finally {
      fs.writeFileSync(main, before);
    }
  });

  it('a fuse left open is refused', async () => {
    const result = await pack({ ...base, electronFuses: { ...requiredFuses, runAsNode: true } });
    expect(result.problems).toEqual(['electronFuses.runAsNode must be false (found true)']);
  });
});
