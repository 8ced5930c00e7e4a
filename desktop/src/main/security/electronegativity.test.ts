/**
 * Doyensec's Electronegativity over the desktop sources, offline (issue 4). It exits 0 even
 * with HIGH findings, so this reads its report and fails on every finding that is not
 * accepted, with a reason, in desktop/electronegativity-accepted.json.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

const desktop = path.resolve(import.meta.dirname, '../../..');
const repo = path.resolve(desktop, '..');

const Accepted = z.object({
  accepted: z.array(z.object({ check: z.string().min(1), file: z.string().min(1), reason: z.string().min(40) })),
});

/**
 * The SARIF report: one JSON document written in one go. Not the CSV: the tool writes the CSV
 * header and body with two concurrent fs.writeFile calls, and under load the header can land
 * last and mangle the file.
 */
const Sarif = z.object({
  runs: z.array(z.object({
    results: z.array(z.object({
      ruleId: z.string(),
      message: z.object({ text: z.string() }),
      locations: z.array(z.object({
        physicalLocation: z.object({
          artifactLocation: z.object({ uri: z.string() }),
          region: z.object({ startLine: z.number() }).optional(),
        }),
      })),
    })),
  })).min(1),
});

interface Finding {
  rule: string;
  file: string;
  line: number;
  message: string;
}

describe('Electronegativity static scan of desktop/src', () => {
  it('finds nothing that is not reviewed and accepted with a reason', () => {
    const electronVersion = (JSON.parse(fs.readFileSync(path.join(repo, 'node_modules/electron/package.json'), 'utf8')) as { version: string }).version;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'depotline-eneg-'));
    const out = path.join(dir, 'findings.sarif');
    // -e: the Electron version, so the tool does not need the network to find it.
    const run = spawnSync(path.join(repo, 'node_modules/.bin/electronegativity'), ['-i', path.join(desktop, 'src'), '-e', electronVersion, '-r', '-o', out], {
      encoding: 'utf8', timeout: 120_000,
    });
    expect(run.error, 'electronegativity did not run').toBeUndefined();
    expect(fs.existsSync(out), `no report was written:\n${run.stdout}\n${run.stderr}`).toBe(true);
    const report = Sarif.parse(JSON.parse(fs.readFileSync(out, 'utf8')));
    fs.rmSync(dir, { recursive: true, force: true });
    const findings: Finding[] = report.runs.flatMap((r) => r.results.map((result) => ({
      rule: result.ruleId,
      file: result.locations[0]?.physicalLocation.artifactLocation.uri ?? 'N/A',
      line: result.locations[0]?.physicalLocation.region?.startLine ?? 0,
      message: result.message.text,
    })));

    const { accepted } = Accepted.parse(JSON.parse(fs.readFileSync(path.join(desktop, 'electronegativity-accepted.json'), 'utf8')));
    const isAccepted = (f: Finding) => accepted.some((a) => a.check === f.rule && a.file === f.file);
    expect(findings.filter((f) => !isAccepted(f)).map((f) => `${f.rule} ${f.file}:${f.line} ${f.message}`)).toEqual([]);
    const stale = accepted.filter((a) => !findings.some((f) => f.rule === a.check && f.file === a.file));
    expect(stale.map((a) => `${a.check} ${a.file}`), 'accepted findings that no longer occur: remove them').toEqual([]);
  }, 120_000);
});
