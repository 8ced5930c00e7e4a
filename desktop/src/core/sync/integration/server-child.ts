/**
 * Test support, run as a child process (`node --import tsx`): a real sync-server on a given
 * port and data directory that kills itself with SIGKILL when it is about to record mutation
 * number `killAfter + 1` of this run: in the middle of a push, after `killAfter` committed
 * transactions and before the ack. Prints one JSON line when listening.
 */
import path from 'node:path';
import type { KyselyPlugin, RootOperationNode } from 'kysely';
import { startServer } from '../../../../../sync-server/src/server';
import { createTestContext, createTestEnv } from '../../../../../sync-server/test/harness';

const [dataDir, port, killAfter] = process.argv.slice(2);
if (!dataDir || !port || !killAfter) throw new Error('usage: server-child <dataDir> <port> <killAfter>');

const env = await createTestEnv('sqlite', {
  dataDir, database: { kind: 'sqlite', file: path.join(dataDir, 'server.sqlite') }, port: Number(port), mfaRequiredRoles: new Set(),
});
const ctx = await createTestContext(env);

// SQLite runs synchronously under the server's async API, so a timer could not interrupt a
// push; a query plugin sees each statement as it is about to run.
let recorded = 0;
const isAppliedMutationInsert = (node: RootOperationNode) =>
  node.kind === 'InsertQueryNode' && node.into?.table.identifier.name === 'applied_mutations';
const killer: KyselyPlugin = {
  transformQuery({ node }) {
    if (isAppliedMutationInsert(node) && ++recorded > Number(killAfter)) process.kill(process.pid, 'SIGKILL');
    return node;
  },
  transformResult: ({ result }) => Promise.resolve(result),
};
ctx.db = ctx.db.withPlugin(killer);
const running = await startServer(ctx);
console.log(JSON.stringify({ url: running.url }));
