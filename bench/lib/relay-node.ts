/**
 * One process of the fan-out baseline cluster (issue 15): the bare Socket.IO room relay of
 * lib/bare-socket-server.ts on a fixed port, with the sync-server's own cross-process fan-out
 * (`createSocketFanOut`: the Redis streams adapter, its connections, stream name under the key
 * prefix, length bound and read settings), so the two clusters differ only in what a process
 * does with a change. Several of these behind the same nginx site are what the sync-server
 * cluster is measured against. Configured like a server process, from the environment: PORT,
 * REDIS_URL, REDIS_KEY_PREFIX. Logs one line when it listens; exits on SIGTERM.
 */
import { createSocketFanOut } from '../../sync-server/src/socket/adapter';
import { startBareSocketServer } from './bare-socket-server';

const log = {
  error: (msg: string, fields?: Record<string, unknown>) => process.stderr.write(`[relay ${process.env.PORT}] ${msg} ${JSON.stringify(fields ?? {})}\n`),
  info: () => {},
  debug: () => {},
};

async function main(): Promise<void> {
  const port = Number(process.env.PORT);
  const redisUrl = process.env.REDIS_URL;
  if (!Number.isInteger(port) || port <= 0 || !redisUrl) throw new Error('relay-node needs PORT and REDIS_URL');
  const fanOut = createSocketFanOut({
    redis: { url: redisUrl, tlsCaFile: null }, keyPrefix: process.env.REDIS_KEY_PREFIX ?? 'depotline-relay:',
    // Unused here (the relay has no REST routes); the settings type carries them.
    perMinute: { address: 0, userToken: 0, integrationCredential: 0, oauthClient: 0 },
  }, log);
  const relay = await startBareSocketServer({ port, adapter: fanOut.adapter });
  if (!(await fanOut.ready(10_000))) throw new Error('the relay could not reach Redis');
  process.stdout.write(`relay listening on ${relay.url}\n`);
  const stop = () => {
    void relay.close().then(() => fanOut.close()).finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.on('disconnect', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`relay-node: ${String((err as Error)?.stack ?? err)}\n`);
  process.exit(1);
});
