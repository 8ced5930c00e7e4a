/**
 * The consoles, in their own process (issue 5 asks for the clients apart from the server: on a
 * 2-core machine a server and 1,000 clients on one event loop would measure the loop, not the
 * server). Real socket.io-client connections, websocket transport, as the desktop core opens
 * them. Driven over IPC by lib/swarm.ts; exits when its parent goes away.
 */
import crypto from 'node:crypto';
import { io, type Socket } from 'socket.io-client';
import { monoMs, sleep } from './stats';
import type {
  FanoutOutcome, FanoutPlan, FromSwarm, SwarmConsole, SwarmMode, ThroughputOutcome, ThroughputPlan, ToSwarm,
} from './swarm-protocol';

interface Console {
  socket: Socket;
  locationId: string;
}

let consoles: Console[] = [];
let mode: SwarmMode = 'ours';
/** Receipt hook for the fan-out in progress: (console index, stop id). */
let onChange: ((index: number, stopId: string) => void) | null = null;

const reply = (msg: FromSwarm) => process.send!(msg);

process.on('disconnect', () => process.exit(0));
process.on('message', (msg: ToSwarm) => {
  handle(msg).then(reply, (err: unknown) => reply({ kind: 'error', message: String((err as Error)?.stack ?? err) }));
});

async function handle(msg: ToSwarm): Promise<FromSwarm> {
  switch (msg.kind) {
    case 'connect':
      return connectAll(msg.url, msg.mode, msg.consoles, msg.concurrency);
    case 'fanout':
      return { kind: 'fanout', outcome: await fanout(msg.plan) };
    case 'throughput':
      return { kind: 'throughput', outcome: await throughput(msg.plan) };
    case 'disconnect':
      for (const c of consoles) c.socket.disconnect();
      consoles = [];
      await sleep(200);
      return { kind: 'disconnected' };
  }
}

async function connectAll(url: string, m: SwarmMode, specs: SwarmConsole[], concurrency: number): Promise<FromSwarm> {
  mode = m;
  const started = monoMs();
  const errors: string[] = [];
  const out: (Console | null)[] = new Array<Console | null>(specs.length).fill(null);
  let next = 0;
  async function worker() {
    for (;;) {
      const i = next++;
      if (i >= specs.length) return;
      try {
        out[i] = await connectOne(url, specs[i]!, i);
      } catch (err) {
        if (errors.length < 5) errors.push(String((err as Error)?.message ?? err));
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  consoles = out.filter((c): c is Console => c !== null);
  const failed = specs.length - consoles.length;
  return { kind: 'connected', ok: consoles.length, failed, errors, ms: monoMs() - started };
}

async function connectOne(url: string, spec: SwarmConsole, index: number): Promise<Console> {
  const socket = io(url, {
    auth: spec.token ? { token: spec.token } : {},
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    timeout: 20_000,
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (err) => reject(err));
  });
  if (mode === 'bare') {
    // The baseline's only "protocol": join the location's room.
    await socket.timeout(20_000).emitWithAck('join', { locationId: spec.locationId });
    socket.on('change', (change: { data: { id: string } }) => onChange?.(index, change.data.id));
  } else {
    socket.on('sync:change', (change: { entity: string; data: { id: string } }) => {
      if (change.entity === 'stop') onChange?.(index, change.data.id);
    });
  }
  return { socket, locationId: spec.locationId };
}

/** A stop change as the real server would broadcast it, for the baseline to relay verbatim. */
function baselineChange(locationId: string, stopId: string, version: number) {
  return {
    entity: 'stop', locationId, version,
    data: {
      id: stopId, locationId, routeId: stopId.replace(/-s\d+$/, ''), sequence: version,
      customerName: 'Customer 3fa9c2d1', address: `${version} Lindenstrasse, 10115 Berlin`, phone: '+49 30 4567890',
      notes: 'Leave with neighbour at 3fa9c2d1; ring twice', window: { start: 1_800_000_000_000, end: 1_800_003_600_000 },
      status: 'en_route', eta: null, version, updatedAt: Date.now(), updatedBy: 'console-0-dispatcher',
    },
  };
}

async function pushStatus(c: Console, stopId: string, to: string, version: number): Promise<string | null> {
  if (mode === 'bare') {
    c.socket.emit('push', baselineChange(c.locationId, stopId, version));
    return null;
  }
  const res = (await c.socket.timeout(30_000).emitWithAck('sync:push', {
    mutations: [{ id: crypto.randomUUID(), type: 'stop.setStatus', locationId: c.locationId, createdAt: Date.now(), stopId, to }],
  })) as { ok: boolean; data?: { results: { status: string; reason?: string }[] }; message?: string };
  if (!res.ok) return `push failed: ${res.message ?? 'unknown'}`;
  const r = res.data!.results[0]!;
  return r.status === 'applied' ? null : `push ${r.status}: ${r.reason ?? ''}`;
}

async function fanout(plan: FanoutPlan): Promise<FanoutOutcome> {
  const perLocation = new Map<string, number>();
  for (const c of consoles) perLocation.set(c.locationId, (perLocation.get(c.locationId) ?? 0) + 1);
  const pusherIndex = new Set(plan.pushers.flatMap((p) => (p.index === null ? [] : [p.index])));
  const sentAt = new Map<string, number>();
  const measured = new Set<string>();
  const latencies: number[] = [];
  const remoteReceipts: [string, number][] = [];
  const pushErrors: string[] = [];
  const ackMs: number[] = [];
  let expected = 0;
  // Pushes made by other swarms: known up front; their measured rounds count towards what this swarm waits for.
  const remoteMeasured = new Set<string>();
  for (const p of plan.pushers) {
    if (p.index !== null) continue;
    for (const stopId of p.stopIds.slice(plan.warmupRounds, plan.warmupRounds + plan.rounds)) {
      remoteMeasured.add(stopId);
      expected += perLocation.get(p.locationId) ?? 0;
    }
  }
  onChange = (index, stopId) => {
    if (remoteMeasured.has(stopId)) {
      remoteReceipts.push([stopId, monoMs()]);
      return;
    }
    if (pusherIndex.has(index)) return; // the pusher's own copy is not a fan-out receipt
    const at = sentAt.get(stopId);
    if (at !== undefined && measured.has(stopId)) latencies.push(monoMs() - at);
  };

  const L = plan.pushers.length;
  const totalRounds = plan.warmupRounds + plan.rounds;
  const events: { at: number; pusher: number; round: number }[] = [];
  for (let r = 0; r < totalRounds; r++) {
    for (let p = 0; p < L; p++) {
      if (plan.pushers[p]!.index !== null) events.push({ at: r * plan.periodMs + (p * plan.periodMs) / L, pusher: p, round: r });
    }
  }
  events.sort((a, b) => a.at - b.at);
  const inflight: Promise<void>[] = [];
  const t0 = plan.startAt ?? monoMs() + 50;
  for (const ev of events) {
    const wait = t0 + ev.at - monoMs();
    if (wait > 1) await sleep(wait);
    const pusher = plan.pushers[ev.pusher]!;
    const stopId = pusher.stopIds[ev.round]!;
    const c = consoles[pusher.index!]!;
    if (ev.round >= plan.warmupRounds) {
      measured.add(stopId);
      expected += (perLocation.get(c.locationId) ?? 1) - 1;
    }
    const at = monoMs();
    sentAt.set(stopId, at);
    const isMeasured = ev.round >= plan.warmupRounds;
    inflight.push(pushStatus(c, stopId, 'en_route', ev.round + 1).then((err) => {
      if (isMeasured && mode !== 'bare') ackMs.push(monoMs() - at);
      if (err && pushErrors.length < 5) pushErrors.push(err);
    }));
  }
  // A swarm that only receives still waits out the schedule before its drain starts.
  const scheduleEnd = t0 + totalRounds * plan.periodMs - monoMs();
  if (scheduleEnd > 1) await sleep(scheduleEnd);
  await Promise.all(inflight);
  const deadline = monoMs() + plan.drainMs;
  while (latencies.length + remoteReceipts.length < expected && monoMs() < deadline) await sleep(20);
  onChange = null;
  const sent = [...measured].map((id): [string, number] => [id, sentAt.get(id)!]);
  return { latenciesMs: latencies, expected, received: latencies.length + remoteReceipts.length, pushErrors, sent, remoteReceipts, ackMs };
}

/** Cycle of legal transitions (shared/src/stop-status.ts), so a stop can be pushed forever. */
const nextStatus: Record<string, string> = { planned: 'en_route', en_route: 'arrived', arrived: 'failed', failed: 'planned' };

async function throughput(plan: ThroughputPlan): Promise<ThroughputOutcome> {
  const errors: string[] = [];
  const cpu0 = process.cpuUsage();
  const start = monoMs();
  const windowStart = start + plan.warmupMs;
  const windowEnd = windowStart + plan.durationMs;
  let applied = 0;
  let rejected = 0;
  let pushes = 0;
  await Promise.all(plan.pushers.map(async (p) => {
    const c = consoles[p.index]!;
    const status = new Map(p.stopIds.map((id) => [id, 'planned']));
    let cursor = 0;
    while (monoMs() < windowEnd) {
      const mutations = [];
      for (let k = 0; k < plan.batch; k++) {
        const stopId = p.stopIds[cursor++ % p.stopIds.length]!;
        const to = nextStatus[status.get(stopId)!]!;
        status.set(stopId, to);
        // A stop fails only with a reason (the server refuses `failed` without one).
        mutations.push({ id: crypto.randomUUID(), type: 'stop.setStatus', locationId: p.locationId, createdAt: Date.now(), stopId, to, ...(to === 'failed' ? { failureReason: 'customer_absent' } : {}) });
      }
      const res = (await c.socket.timeout(60_000).emitWithAck('sync:push', { mutations })) as
        { ok: boolean; data?: { results: { status: string; reason?: string }[] }; message?: string; code?: string };
      const at = monoMs();
      const inWindow = at >= windowStart && at <= windowEnd;
      if (!res.ok) {
        if (errors.length < 5) errors.push(`${res.code ?? ''}: ${res.message ?? ''}`);
        await sleep(50);
        continue;
      }
      if (inWindow) pushes++;
      for (const r of res.data!.results) {
        if (r.status === 'applied') { if (inWindow) applied++; }
        else {
          rejected++;
          if (errors.length < 5) errors.push(`${r.status}: ${r.reason ?? ''}`);
        }
      }
    }
  }));
  const cpu = process.cpuUsage(cpu0);
  const clientCpuPct = Math.round(((cpu.user + cpu.system) / 1000 / (monoMs() - start)) * 100);
  return { applied, rejected, pushes, windowMs: plan.durationMs, clientCpuPct, errors };
}
