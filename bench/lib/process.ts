import { type ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type BenchOptions, parseOptions } from './options';

/** What a section hands back: its figures (keys of issue 5) and notes on how they were made. */
export interface SectionResult<F> {
  figures: F;
  meta: Record<string, unknown>;
}

/** Node flags for every bench process: TypeScript through tsx, and `global.gc` for memory figures. */
export const benchExecArgv = ['--import', 'tsx', '--expose-gc'];

export const benchDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

type ToSection = { kind: 'run'; options: { quick: boolean } };
type FromSection<F> = { kind: 'result'; result: SectionResult<F> } | { kind: 'error'; message: string };

/**
 * Runs a section file in its own Node process: a fresh heap and event loop per section, so one
 * section's garbage or leftover sockets never skew the next one's figures.
 */
export function runSectionProcess<F>(file: string, options: BenchOptions, timeoutMs: number): Promise<SectionResult<F>> {
  return new Promise((resolve, reject) => {
    // Child stdout goes to our stderr: our stdout carries only the final JSON object.
    const child = fork(path.join(benchDir, file), [], { execArgv: benchExecArgv, stdio: ['ignore', 2, 2, 'ipc'] });
    let settled = false;
    const timer = setTimeout(() => {
      finish(new Error(`${file} did not finish within ${Math.round(timeoutMs / 1000)} s`));
      child.kill('SIGKILL');
    }, timeoutMs);
    function finish(err: Error | null, result?: SectionResult<F>) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(result!);
    }
    child.on('message', (msg: FromSection<F>) => {
      if (msg.kind === 'result') finish(null, msg.result);
      else finish(new Error(msg.message));
    });
    child.on('exit', (code, signal) => finish(new Error(`${file} exited (${signal ?? code}) without a result`)));
    child.on('error', (err) => finish(err));
    const start: ToSection = { kind: 'run', options: { quick: options.quick } };
    child.send(start);
  });
}

/**
 * The entry point at the bottom of each section file: under run.ts it waits for its options over
 * IPC and answers with its result; run directly (`npx tsx bench/fanout.ts --quick`) it prints
 * the result as JSON.
 */
export function sectionEntry<F>(moduleUrl: string, run: (options: BenchOptions) => Promise<SectionResult<F>>): void {
  const argv1 = process.argv[1];
  if (!argv1 || pathToFileURL(path.resolve(argv1)).href !== moduleUrl) return;
  const send = process.send?.bind(process);
  if (send) {
    process.once('message', (msg: ToSection) => {
      run({ quick: msg.options.quick, only: new Set() })
        .then((result) => send({ kind: 'result', result } satisfies FromSection<F>, () => process.exit(0)))
        .catch((err: unknown) => send({ kind: 'error', message: String((err as Error)?.stack ?? err) } satisfies FromSection<F>, () => process.exit(1)));
    });
    return;
  }
  run(parseOptions(process.argv.slice(2)))
    .then((result) => {
      process.stdout.write(JSON.stringify(result, null, 2) + '\n');
      process.exit(0);
    })
    .catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
}

/** Kills a helper process we started, by its own handle (never by name). */
export function stopChild(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
}
