import type { ServerConfig } from '../../../../../sync-server/src/config';
import type { ServerContext } from '../../../../../sync-server/src/context';
import { startServer as startSyncServer, type RunningServer } from '../../../../../sync-server/src/server';
import { createTestContext, createTestEnv, type TestEnv } from '../../../../../sync-server/test/harness';

/**
 * A real sync-server whose process-level state can go away and come back on the same port
 * and database file: what a console sees when the server is restarted or crashes.
 */
export class RestartableServer {
  #running: RunningServer | null;
  #ctx: ServerContext;

  private constructor(readonly env: TestEnv, running: RunningServer) {
    this.#running = running;
    this.#ctx = running.ctx;
  }

  static async start(overrides: Partial<ServerConfig> = {}): Promise<RestartableServer> {
    const env = await createTestEnv('sqlite', { mfaRequiredRoles: new Set(), ...overrides });
    const running = await startSyncServer(await createTestContext(env));
    // Pin the port so clients reconnect to the same address after a restart.
    env.config = { ...env.config, port: running.port };
    return new RestartableServer(env, running);
  }

  get url(): string {
    return `http://127.0.0.1:${this.env.config.port}`;
  }

  /** The current process's context (a new one after each restart). */
  get ctx(): ServerContext {
    return this.#ctx;
  }

  get up(): boolean {
    return this.#running !== null;
  }

  async stop(): Promise<void> {
    const running = this.#running;
    this.#running = null;
    await running?.close();
  }

  async resume(): Promise<void> {
    if (this.#running) return;
    for (let attempt = 0; ; attempt++) {
      try {
        this.#running = await startSyncServer(await createTestContext(this.env));
        this.#ctx = this.#running.ctx;
        return;
      } catch (err) {
        // The old listener may hold the port for a moment after close.
        if (attempt > 20) throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  async dispose(): Promise<void> {
    await this.stop();
    await this.env.dispose();
  }
}
