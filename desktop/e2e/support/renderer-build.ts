import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const desktop = path.resolve(import.meta.dirname, '../..');

/** Builds the renderer with Vite into a fresh directory (about a second) and returns it. */
export function buildRenderer(): { dir: string; remove(): void } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'depotline-renderer-'));
  const dir = path.join(root, 'renderer');
  execFileSync(process.execPath, [path.join(desktop, 'scripts/build.mjs'), '--renderer-only', '--out', root], { stdio: 'pipe', timeout: 120_000 });
  if (!fs.existsSync(path.join(dir, 'index.html'))) throw new Error('the renderer build produced no index.html');
  return { dir, remove: () => fs.rmSync(root, { recursive: true, force: true }) };
}
