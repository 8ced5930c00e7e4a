import { useCallback, useEffect, useRef, useState } from 'react';
import { call, messageOf } from '../bridge';

export interface Query<T> {
  data: T | undefined;
  error: string | null;
  loading: boolean;
}

/**
 * Runs `load` whenever `deps` change. At most one request per query is in flight: changes that
 * arrive meanwhile (a burst of sync pages) coalesce into one more run after it, so a board of
 * 20,000 stops is not fetched ten times over. Answers for outdated `deps` are dropped.
 */
export function useQuery<T>(load: () => Promise<T>, deps: readonly unknown[], enabled = true): Query<T> {
  const [state, setState] = useState<Query<T>>({ data: undefined, error: null, loading: enabled });
  const key = JSON.stringify(deps);
  const latest = useRef({ load, key });
  latest.current = { load, key };
  const running = useRef(false);
  const rerun = useRef(false);

  const run = useCallback(() => {
    if (running.current) {
      rerun.current = true;
      return;
    }
    running.current = true;
    const { load: fn, key: asked } = latest.current;
    fn().then(
      (data) => {
        if (latest.current.key === asked) setState({ data, error: null, loading: false });
      },
      (err: unknown) => {
        if (latest.current.key === asked) setState((s) => ({ data: s.data, error: messageOf(err), loading: false }));
      },
    ).finally(() => {
      running.current = false;
      if (rerun.current) {
        rerun.current = false;
        run();
      }
    });
  }, []);

  useEffect(() => {
    if (!enabled) {
      setState({ data: undefined, error: null, loading: false });
      return;
    }
    setState((s) => ({ ...s, loading: true }));
    run();
  }, [enabled, key, run]);
  return state;
}

export function useDebounced<T>(value: T, ms: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setDebounced(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return debounced;
}

/** A clock for "x min ago" labels. */
export function useNow(everyMs: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
  return now;
}

/**
 * Tells main the user is here (keys, pointer, wheel), at most a few times per idle period, so
 * the idle lock (which main runs, not the page) is postponed only by real use.
 */
export function useActivityReports(idleLockMs: number): void {
  useEffect(() => {
    const every = Math.max(250, Math.min(5000, Math.floor(idleLockMs / 4)));
    let last = 0;
    const report = () => {
      const now = Date.now();
      if (now - last < every) return;
      last = now;
      void call('reportActivity').catch(() => undefined);
    };
    const events = ['keydown', 'pointerdown', 'pointermove', 'wheel'] as const;
    for (const e of events) window.addEventListener(e, report, { passive: true, capture: true });
    return () => {
      for (const e of events) window.removeEventListener(e, report, { capture: true });
    };
  }, [idleLockMs]);
}
