/**
 * Run parameters. `--quick` shrinks every section so the whole run stays under two minutes;
 * the figures keep their meaning (they are ratios and per-second rates), only their noise grows.
 */
export interface BenchOptions {
  quick: boolean;
  /** Sections to run (all when empty): `npm run bench -- --only fanout,memory`. */
  only: ReadonlySet<string>;
}

export function parseOptions(argv: readonly string[]): BenchOptions {
  const quick = argv.includes('--quick');
  const onlyAt = argv.indexOf('--only');
  const only = new Set(onlyAt >= 0 && argv[onlyAt + 1] ? argv[onlyAt + 1]!.split(',').map((s) => s.trim()).filter(Boolean) : []);
  return { quick, only };
}

/** Progress goes to stderr: stdout carries the one JSON object and nothing else. */
export function progress(section: string, msg: string): void {
  process.stderr.write(`[bench:${section}] ${msg}\n`);
}
