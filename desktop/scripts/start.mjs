#!/usr/bin/env node
// `npm start`: the sync-server with demo data on 127.0.0.1, and the console in Electron.
//
// The Electron binary is a separate download (node_modules/electron/install.js). Where it is
// missing, e.g. after an install with ELECTRON_SKIP_BINARY_DOWNLOAD=1, this says so and how to
// get it, and exits non-zero before starting anything.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const desktop = path.resolve(import.meta.dirname, '..');
const repo = path.resolve(desktop, '..');
const require = createRequire(import.meta.url);

function electronBinary() {
  // Found the way node_modules/electron/index.js finds it, but without its download-on-require:
  // starting the console must not fetch a program from the internet behind the user's back.
  let version = 'unknown';
  try {
    const pkg = require.resolve('electron/package.json');
    version = JSON.parse(fs.readFileSync(pkg, 'utf8')).version;
    const dir = path.dirname(pkg);
    const pathFile = path.join(dir, 'path.txt');
    const relative = fs.existsSync(pathFile) ? fs.readFileSync(pathFile, 'utf8').trim() : process.env.ELECTRON_OVERRIDE_DIST_PATH ? 'electron' : null;
    const dist = process.env.ELECTRON_OVERRIDE_DIST_PATH ?? path.join(dir, 'dist');
    const binary = relative ? path.join(dist, relative) : null;
    if (binary && fs.existsSync(binary)) return { binary, version };
  } catch {
    // the package itself is missing: the explanation below covers it
  }
  process.stderr.write(`
Depotline console: the Electron binary is not installed, so the console window cannot start.

The npm package "electron" (${version}) is installed, but the Electron program it downloads on
install is not: it was probably installed with ELECTRON_SKIP_BINARY_DOWNLOAD=1, or without
network access to GitHub.

To get it, on a machine that can reach github.com:
    node node_modules/electron/install.js
(or \`npx install-electron --no\`, or reinstall without ELECTRON_SKIP_BINARY_DOWNLOAD). To use an
Electron you already have, point ELECTRON_OVERRIDE_DIST_PATH at its directory.
(Behind a mirror, set ELECTRON_MIRROR first; see https://www.electronjs.org/docs/latest/tutorial/installation.)

Then run \`npm start\` again. The sync server alone runs with \`npm run server:demo\`.
`);
  process.exit(1);
}

function run(command, args, options) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: 'inherit', ...options });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${path.basename(command)} exited with ${code}`))));
  });
}

const { binary } = electronBinary();

await run(process.execPath, [path.join(desktop, 'scripts/build.mjs')], { cwd: repo });

// The demo server keeps its data (and the demo passwords it printed once) in .data/demo-server.
const port = process.env.PORT ?? '8787';
const dataDir = path.join(repo, '.data', 'demo-server');
fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
const server = spawn(process.execPath, ['--import', 'tsx', path.join(repo, 'sync-server/src/main.ts'), '--demo'], {
  cwd: repo,
  env: { ...process.env, PORT: port, HOST: '127.0.0.1', DEPOTLINE_DATA_DIR: dataDir, LOG_LEVEL: process.env.LOG_LEVEL ?? 'error' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const serverUrl = await new Promise((resolve, reject) => {
  let buffered = '';
  server.stdout.on('data', (chunk) => {
    process.stdout.write(chunk);
    buffered += chunk.toString('utf8');
    const match = /listening on (\S+)/.exec(buffered);
    if (match) resolve(match[1]);
  });
  server.on('exit', (code) => reject(new Error(`the sync server exited with ${code} before it was ready`)));
});
console.log(`\nStarting the Depotline console (Electron) against ${serverUrl} ...`);

const electron = spawn(binary, [desktop], { cwd: repo, stdio: 'inherit', env: { ...process.env, DEPOTLINE_SERVER_URL: serverUrl } });
const stop = () => {
  electron.kill('SIGTERM');
  server.kill('SIGTERM');
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
electron.on('exit', (code) => {
  server.kill('SIGTERM');
  server.on('exit', () => process.exit(code ?? 0));
});
