import { runCli } from './run';

// The admin CLI entry (`npm run admin -- ...`, or bin/depotline-admin.mjs).
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  // `depotline-admin audit export | head` closes the pipe early: not an error of ours.
  if (err.code !== 'EPIPE') throw err;
});
process.exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
});
