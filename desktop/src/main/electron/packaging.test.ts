import fs from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';

const repo = path.resolve(import.meta.dirname, '../../../..');

interface BuilderConfig {
  directories: { app: string };
  files: string[];
  asar: boolean;
  asarUnpack: string[];
  electronFuses: Record<string, boolean>;
  linux: { target: string[] };
  win: { target: string[] };
  mac: { target: string[]; hardenedRuntime: boolean };
}

describe('packaging (electron-builder.yml)', () => {
  const config = yaml.load(fs.readFileSync(path.join(repo, 'electron-builder.yml'), 'utf8')) as BuilderConfig;

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
  });

  it('packages the built console from the desktop workspace, with native modules outside the asar', () => {
    expect(config.directories.app).toBe('desktop');
    const pkg = JSON.parse(fs.readFileSync(path.join(repo, 'desktop/package.json'), 'utf8')) as { main: string; dependencies: Record<string, string> };
    expect(pkg.main).toBe('dist/app/main.js');
    expect(Object.keys(pkg.dependencies)).toEqual(expect.arrayContaining(['keytar', '@journeyapps/sqlcipher']));
    expect(config.files.filter((f) => !f.startsWith('!'))).toEqual(['dist/app/**/*', 'package.json']);
    expect(config.files).toEqual(expect.arrayContaining(['!e2e/**', '!**/*.map', '!**/*.test.*']));
    expect(config.asar).toBe(true);
    expect(config.asarUnpack).toContain('**/*.node');
  });

  it('builds AppImage and deb for Linux, NSIS for Windows, dmg for macOS', () => {
    expect(config.linux.target).toEqual(expect.arrayContaining(['AppImage', 'deb']));
    expect(config.win.target).toEqual(['nsis']);
    expect(config.mac.target).toEqual(['dmg']);
    expect(config.mac.hardenedRuntime).toBe(true);
  });
});
