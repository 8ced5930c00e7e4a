#!/usr/bin/env node
// The npm half of `npm run setup` (after build/install-system-deps.sh): `npm install`, then the
// Electron binary, tried on its own.
//
// The binary comes from github.com (or ELECTRON_MIRROR). Electron's own postinstall would fail
// the whole `npm install` where that host is unreachable, so npm installs everything with the
// download deferred, and the download is then tried here: where it cannot be reached, setup
// still finishes (the server, the tests and the packaging checks need no Electron binary) and
// says what to do. ELECTRON_SKIP_BINARY_DOWNLOAD=1 set by the user skips the attempt.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const repo = path.resolve(import.meta.dirname, '../..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const userSkips = process.env.ELECTRON_SKIP_BINARY_DOWNLOAD === '1' || process.env.ELECTRON_SKIP_BINARY_DOWNLOAD === 'true';

// Root package.json "engines" carries the Node version Electron's package declares (its installer
// needs it); packaging.test.ts keeps the two equal.
const engines = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8')).engines?.node ?? '';
const needed = /(\d+)\.(\d+)/.exec(engines);
const [major, minor] = process.versions.node.split('.').map(Number);
if (needed && (major < Number(needed[1]) || (major === Number(needed[1]) && minor < Number(needed[2])))) {
  console.warn(`setup: Node ${process.versions.node} is older than Depotline's desktop needs (node ${engines} in package.json "engines", from Electron's package); Electron's installer may fail. Install Node ${needed[1]}.${needed[2]} or later.`);
}

const install = spawnSync(npm, ['install', '--no-audit', '--no-fund'], { cwd: repo, stdio: 'inherit', env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1' }, shell: process.platform === 'win32' });
if (install.status !== 0) process.exit(install.status ?? 1);

const electron = JSON.parse(fs.readFileSync(path.join(repo, 'node_modules/electron/package.json'), 'utf8'));
const electronDir = path.join(repo, 'node_modules/electron');
if (fs.existsSync(path.join(electronDir, 'path.txt'))) {
  console.log(`setup: done. The Electron ${electron.version} binary is installed.`);
  process.exit(0);
}
if (userSkips) {
  console.log(`setup: done, without the Electron binary (ELECTRON_SKIP_BINARY_DOWNLOAD is set). Get it later with \`node node_modules/electron/install.js\`.`);
  process.exit(0);
}

console.log(`setup: downloading the Electron ${electron.version} binary (${process.env.ELECTRON_MIRROR ?? 'github.com'}) ...`);
const download = spawnSync(process.execPath, [path.join(electronDir, 'install.js')], { cwd: repo, encoding: 'utf8', timeout: 15 * 60_000 });
if (download.status === 0 && fs.existsSync(path.join(electronDir, 'path.txt'))) {
  console.log(`setup: done. The Electron ${electron.version} binary is installed.`);
  process.exit(0);
}
const reason = (download.error?.message ?? download.stderr ?? '').trim().split('\n')[0] || `exit ${download.status}`;
process.stdout.write(`
setup: done, WITHOUT the Electron binary: its download failed (${reason}).
Everything else is installed: the sync server, \`npm test\` and the packaging checks
(\`npm run desktop:package -- --check\`) work. The console window (\`npm start\`) and the
installers (\`npm run desktop:package\`) need the binary. To get it:
  - on a network that reaches github.com:  node node_modules/electron/install.js
  - through your own mirror:  ELECTRON_MIRROR=https://mirror.example/electron/ node node_modules/electron/install.js
  - with an Electron ${electron.version} you already have: set ELECTRON_OVERRIDE_DIST_PATH to its directory.
`);
