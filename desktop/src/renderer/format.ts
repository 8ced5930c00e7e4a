import type { StopStatus, SyncStatusView } from '@depotline/shared';

export const statusLabel: Readonly<Record<StopStatus, string>> = {
  planned: 'Planned',
  en_route: 'En route',
  arrived: 'Arrived',
  delivered: 'Delivered',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

/** The button that moves a stop to a status. */
export const transitionLabel: Readonly<Record<StopStatus, string>> = {
  planned: 'Back to planned',
  en_route: 'Mark en route',
  arrived: 'Mark arrived',
  delivered: 'Mark delivered',
  failed: 'Mark failed',
  cancelled: 'Cancel stop',
};

export const statusOrder: readonly StopStatus[] = ['planned', 'en_route', 'arrived', 'delivered', 'failed', 'cancelled'];

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string, kind: 'time' | 'datetime' | 'seconds'): Intl.DateTimeFormat {
  const key = `${timeZone}|${kind}`;
  let f = formatters.get(key);
  if (!f) {
    const options: Intl.DateTimeFormatOptions = kind === 'time'
      ? { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }
      : kind === 'seconds'
        ? { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }
        : { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' };
    try {
      f = new Intl.DateTimeFormat(undefined, { ...options, timeZone });
    } catch {
      f = new Intl.DateTimeFormat(undefined, options);
    }
    formatters.set(key, f);
  }
  return f;
}

/** Times are shown in the depot's own time zone: that is where the van is. */
export const timeAt = (ms: number, timeZone: string) => formatter(timeZone, 'time').format(ms);
export const dateTimeAt = (ms: number, timeZone: string) => formatter(timeZone, 'datetime').format(ms);
export const localTimeWithSeconds = (ms: number) => formatter(Intl.DateTimeFormat().resolvedOptions().timeZone, 'seconds').format(ms);

export function windowText(window: { start: number; end: number }, timeZone: string): string {
  return `${timeAt(window.start, timeZone)}–${timeAt(window.end, timeZone)}`;
}

export function agoText(ms: number, now: number): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 10) return 'just now';
  if (s < 60) return `${s} s ago`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.round(m / 60);
  return h < 24 ? `${h} h ago` : `${Math.round(h / 24)} d ago`;
}

export type Connection = SyncStatusView['connection'];

export function connectionLabel(connection: Connection): { label: string; tone: 'ok' | 'busy' | 'off' } {
  switch (connection) {
    case 'live': return { label: 'Online', tone: 'ok' };
    case 'syncing': return { label: 'Syncing…', tone: 'busy' };
    case 'connecting': return { label: 'Reconnecting…', tone: 'busy' };
    case 'offline': return { label: 'Offline', tone: 'off' };
    case 'signed_out':
    case 'ended':
      return { label: 'Signed out', tone: 'off' };
  }
}

/** Account and device times are shown in this computer's own time zone. */
export const localDateTime = (ms: number) => dateTimeAt(ms, Intl.DateTimeFormat().resolvedOptions().timeZone);
