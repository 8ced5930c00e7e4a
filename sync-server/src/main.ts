import { parseArgs } from 'node:util';
import { formatDemoCredentials } from './cli/commands/demo';
import { ConfigError, loadConfig, type ServerConfig } from './config';
import { createLogger, type ServerContext } from './context';
import { KeyError } from './crypto/key-material';
import { MigrationError } from './db/migrate';
import { seedDemo } from './provisioning/seed-demo';
import { createContext, type RunningServer, startServer } from './server';

/**
 * `npm run server` (and `npm run server:demo`, which adds `--demo`): configuration from the
 * environment, the database opened and migrated, then the HTTP and socket server.
 */

const usage = `Usage: depotline-sync-server [--demo]

  --demo   Seed demo depots, routes and one account per role into an empty database and
           print the demo passwords once. Does nothing if the demo data is already there.

Configuration comes from environment variables (PORT, HOST, DATABASE_URL, DEPOTLINE_DATA_DIR,
TLS_CERT_FILE, ...): see the README's configuration reference.`;

/** Expected start-up failures: the message says what to fix, no stack trace needed. */
function isOperatorError(err: unknown): err is Error {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return err instanceof ConfigError || err instanceof KeyError || err instanceof MigrationError
    || code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL' || code === 'ECONNREFUSED' || code === 'ENOENT';
}

function exitWith(message: string): never {
  process.stderr.write(`depotline sync-server: ${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  let demo = false;
  try {
    const { values } = parseArgs({ options: { demo: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, strict: true });
    if (values.help) {
      process.stdout.write(usage + '\n');
      return;
    }
    demo = values.demo === true;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${usage}\n`);
    process.exit(2);
  }

  let config: ServerConfig;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) exitWith(err.message);
    throw err;
  }
  const log = createLogger(config.logLevel);

  let ctx: ServerContext | null = null;
  let server: RunningServer;
  try {
    ctx = await createContext(config, log);
    if (demo) await seedDemoOnStart(ctx);
    server = await startServer(ctx);
  } catch (err) {
    await ctx?.db.destroy().catch(() => undefined);
    if (isOperatorError(err)) exitWith(err.message);
    throw err;
  }
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) {
      // A second Ctrl-C: the operator does not want to wait for connections to close.
      process.stderr.write(`${signal} again: exiting now.\n`);
      process.exit(1);
    }
    stopping = true;
    log.info('shutting down', { signal });
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error('shutdown failed', { err: String(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  // Announced only once the handlers are in place: a pipe write is synchronous on Linux, so
  // whoever waits for this line may signal before the next statement runs.
  process.stdout.write(`Depotline sync server listening on ${server.url} (database: ${ctx.dbKind})\n`);
}

async function seedDemoOnStart(ctx: ServerContext): Promise<void> {
  const result = await seedDemo(ctx);
  switch (result.status) {
    case 'seeded':
      // The only time these passwords exist in the clear: stdout of this start, never the log.
      process.stdout.write(`${formatDemoCredentials(result, ctx.config.mfaRequiredRoles)}\n\n`);
      return;
    case 'already_seeded':
      process.stdout.write(`Demo data already present (${result.locations.join(', ')}); its passwords were printed when it was seeded.\n`);
      return;
    case 'not_empty':
      process.stdout.write('The database holds other data, so no demo data was added.\n');
      return;
  }
}

await main();
