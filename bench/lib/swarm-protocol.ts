/** Messages between a section (which runs the server) and its console swarm (a child process). */

export type SwarmMode = 'ours' | 'bare';

export interface SwarmConsole {
  locationId: string;
  /** Access token for the real server; the bare baseline has no auth. */
  token: string | null;
}

export interface FanoutPlan {
  /** Console index of each location's pusher. */
  pushers: { index: number; locationId: string; stopIds: string[] }[];
  warmupRounds: number;
  rounds: number;
  /** Each pusher pushes once per period; pushers are spread evenly over the period. */
  periodMs: number;
  /** How long to wait for stragglers after the last push. */
  drainMs: number;
}

export interface FanoutOutcome {
  latenciesMs: number[];
  expected: number;
  received: number;
  pushErrors: string[];
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
