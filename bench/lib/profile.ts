import fs from 'node:fs';
import path from 'node:path';
import { Session } from 'node:inspector/promises';

/**
 * With DEPOTLINE_BENCH_PROFILE_DIR set, records a V8 CPU profile of the server process for the
 * measured phase only (not seeding), as `<dir>/<name>.cpuprofile`. Read it with
 * `npx tsx bench/tools/profile-summary.ts` or Chrome DevTools.
 */
export async function profiled<T>(name: string, phase: () => Promise<T>): Promise<T> {
  const dir = process.env.DEPOTLINE_BENCH_PROFILE_DIR;
  if (!dir) return phase();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  try {
    return await phase();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${name}.cpuprofile`);
    fs.writeFileSync(file, JSON.stringify(profile));
    process.stderr.write(`[bench] CPU profile written to ${file}\n`);
    session.disconnect();
  }
}
