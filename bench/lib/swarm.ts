import { type ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import { benchDir, benchExecArgv, stopChild } from './process';
import type {
  FanoutOutcome, FanoutPlan, FromSwarm, SwarmConsole, SwarmMode, ThroughputOutcome, ThroughputPlan, ToSwarm,
} from './swarm-protocol';

/** The parent's handle on a console swarm process (lib/console-swarm.ts). */
export class ConsoleSwarm {
  private constructor(private readonly child: ChildProcess) {}

  static start(): ConsoleSwarm {
    const child = fork(path.join(benchDir, 'lib/console-swarm.ts'), [], { execArgv: benchExecArgv, stdio: ['ignore', 2, 2, 'ipc'] });
    return new ConsoleSwarm(child);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  private ask(msg: ToSwarm, timeoutMs: number): Promise<FromSwarm> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`console swarm did not answer ${msg.kind} within ${timeoutMs} ms`));
      }, timeoutMs);
      const onMessage = (res: FromSwarm) => {
        cleanup();
        if (res.kind === 'error') reject(new Error(`console swarm: ${res.message}`));
        else resolve(res);
      };
      const onExit = (code: number | null) => {
        cleanup();
        reject(new Error(`console swarm exited (${code}) during ${msg.kind}`));
      };
      const cleanup = () => {
        clearTimeout(timer);
        this.child.off('message', onMessage);
        this.child.off('exit', onExit);
      };
      this.child.on('message', onMessage);
      this.child.on('exit', onExit);
      this.child.send(msg);
    });
  }

  async connect(url: string, mode: SwarmMode, consoles: SwarmConsole[], concurrency = 40): Promise<{ ok: number; failed: number; errors: string[]; ms: number }> {
    const res = await this.ask({ kind: 'connect', url, mode, consoles, concurrency }, 180_000);
    if (res.kind !== 'connected') throw new Error(`unexpected swarm answer ${res.kind}`);
    return res;
  }

  async fanout(plan: FanoutPlan): Promise<FanoutOutcome> {
    const budget = (plan.warmupRounds + plan.rounds) * plan.periodMs + plan.drainMs + 60_000;
    const res = await this.ask({ kind: 'fanout', plan }, budget);
    if (res.kind !== 'fanout') throw new Error(`unexpected swarm answer ${res.kind}`);
    return res.outcome;
  }

  async throughput(plan: ThroughputPlan): Promise<ThroughputOutcome> {
    const res = await this.ask({ kind: 'throughput', plan }, plan.warmupMs + plan.durationMs + 120_000);
    if (res.kind !== 'throughput') throw new Error(`unexpected swarm answer ${res.kind}`);
    return res.outcome;
  }

  async disconnect(): Promise<void> {
    await this.ask({ kind: 'disconnect' }, 30_000);
  }

  stop(): void {
    stopChild(this.child);
  }
}

/**
 * One fan-out round over several swarms: each swarm's latencies for its own pushes, plus every
 * swarm's arrivals of other swarms' pushes joined with their emit times (one clock: monoMs is
 * CLOCK_MONOTONIC, shared by every process on the machine).
 */
export function joinFanoutOutcomes(outcomes: readonly FanoutOutcome[]): { latenciesMs: number[]; ackMs: number[]; expected: number; received: number; pushErrors: string[] } {
  const sentAt = new Map<string, number>();
  for (const o of outcomes) for (const [id, at] of o.sent) sentAt.set(id, at);
  const latenciesMs: number[] = [];
  let unmatched = 0;
  for (const o of outcomes) {
    latenciesMs.push(...o.latenciesMs);
    for (const [id, at] of o.remoteReceipts) {
      const sent = sentAt.get(id);
      if (sent === undefined) unmatched++;
      else latenciesMs.push(at - sent);
    }
  }
  const pushErrors = outcomes.flatMap((o) => o.pushErrors).slice(0, 5);
  if (unmatched > 0) pushErrors.push(`${unmatched} arrivals of pushes no swarm reported as sent`);
  return { latenciesMs, ackMs: outcomes.flatMap((o) => o.ackMs), expected: outcomes.reduce((n, o) => n + o.expected, 0), received: latenciesMs.length, pushErrors };
}
