/**
 * Test support, run as a child process (`node --import tsx`): a real sync-server on a given
 * port and data directory that kills itself with SIGKILL in the middle of a push. `killAt`:
 * - `mutation:N`: when it is about to write the change-log row of mutation number N + 1 of this
 *   run, inside the push's transaction (a push is one transaction, so nothing of it is committed);
 * - `after-commit`: once the first push has committed, before its answer is sent (the moment
 *   it hands the committed changes to the live feed).
 * Prints one JSON line when listening.
 */
import path from 'node:path';
import type { KyselyPlugin, RootOperationNode } from 'kysely';
import { startServer } from '../../../../../sync-server/src/server';
import { createTestContext, createTestEnv } from '../../../../../sync-server/test/harness';

const [dataDir, port, killAt] = process.argv.slice(2);
const killAfter = /^mutation:(\d+)$/.exec(killAt ?? '')?.[1];
if (!dataDir || !port || (killAt !== 'after-commit' && killAfter === undefined)) {
  throw new Error('usage: server-child <dataDir> <port> mutation:<N>|after-commit');
}

const env = await createTestEnv('sqlite', {
  dataDir, database: { kind: 'sqlite', file: path.join(dataDir, 'server.sqlite') }, port: Number(port), mfaRequiredRoles: new Set(),
});
const ctx = await createTestContext(env);

// SQLite runs synchronously under the server's async API, so a timer could not interrupt a
// push; a query plugin sees each statement as it is about to run.
// Each applied mutation writes one change-log row (on SQLite, its own INSERT); its id was claimed
// together with the push's other ids beforehand.
let recorded = 0;
const isChangeLogInsert = (node: RootOperationNode) =>
  node.kind === 'InsertQueryNode' && node.into?.table.identifier.name === 'changes';
const killer: KyselyPlugin = {
  transformQuery({ node }) {
    if (killAfter !== undefined && isChangeLogInsert(node) && ++recorded > Number(killAfter)) process.kill(process.pid, 'SIGKILL');
    return node;
  },
  transformResult: ({ result }) => Promise.resolve(result),
};
ctx.db = ctx.db.withPlugin(killer);
// The push path publishes its changes after COMMIT and before it answers.
const running = await startServer(ctx, killAt === 'after-commit' ? {
  wrapLiveFeed: () => ({
    publish: () => {
      process.kill(process.pid, 'SIGKILL');
      return Promise.resolve();
    },
  }),
} : {});
console.log(JSON.stringify({ url: running.url }));
