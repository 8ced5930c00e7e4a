/** Messages between a section (which runs the server) and its console swarm (a child process). */

export type SwarmMode = 'ours' | 'bare';

export interface SwarmConsole {
  locationId: string;
  /** Access token for the real server; the bare baseline has no auth. */
  token: string | null;
}

export interface FanoutPlan {
  /**
   * Each location's pusher, in schedule order (pusher i pushes at i/L of each period). `index` is
   * the pushing console in this swarm, or null when a console of another swarm pushes (several
   * swarms share one schedule: this one only receives those changes).
   */
  pushers: { index: number | null; locationId: string; stopIds: string[] }[];
  warmupRounds: number;
  rounds: number;
  /** Each pusher pushes once per period; pushers are spread evenly over the period. */
  periodMs: number;
  /** How long to wait for stragglers after the last push. */
  drainMs: number;
  /** monoMs() at which round 0 starts, the same for every swarm of a run; default: 50 ms after the plan arrives. */
  startAt?: number;
}

export interface FanoutOutcome {
  /** Emit-to-arrival times of this swarm's own measured pushes at this swarm's other consoles. */
  latenciesMs: number[];
  /** Arrivals this swarm waited for: its consoles at each measured push's location, less the pusher. */
  expected: number;
  received: number;
  pushErrors: string[];
  /** [stop id, monoMs at emit] of this swarm's measured pushes, for joining with other swarms' receipts. */
  sent: [string, number][];
  /** [stop id, monoMs at arrival] at this swarm's consoles of measured pushes made by other swarms. */
  remoteReceipts: [string, number][];
  /** Emit-to-acknowledgement times of this swarm's measured pushes (ours: the commit; the relay acknowledges nothing). */
  ackMs: number[];
}

export interface ThroughputPlan {
  pushers: { index: number; locationId: string; stopIds: string[] }[];
  batch: number;
  warmupMs: number;
  durationMs: number;
}

export interface ThroughputOutcome {
  /** Mutations answered `applied` in acks that arrived inside the measuring window. */
  applied: number;
  rejected: number;
  pushes: number;
  windowMs: number;
  /** Share of one core the swarm process used (clients compete with the server for 2 cores). */
  clientCpuPct: number;
  errors: string[];
}

export type ToSwarm =
  | { kind: 'connect'; url: string; mode: SwarmMode; consoles: SwarmConsole[]; concurrency: number }
  | { kind: 'fanout'; plan: FanoutPlan }
  | { kind: 'throughput'; plan: ThroughputPlan }
  | { kind: 'disconnect' };

export type FromSwarm =
  | { kind: 'connected'; ok: number; failed: number; errors: string[]; ms: number }
  | { kind: 'fanout'; outcome: FanoutOutcome }
  | { kind: 'throughput'; outcome: ThroughputOutcome }
  | { kind: 'disconnected' }
  | { kind: 'error'; message: string };
