import { bridgeCallNames, bridgeChannel, bridgeEventChannel } from '@depotline/shared';
import { beforeEach, describe, expect, it, vi } from 'vitest';

const exposed: Array<[string, unknown]> = [];
const invoke = vi.fn((...args: unknown[]) => Promise.resolve(args));
const listeners = new Map<string, Set<(...args: unknown[]) => void>>();

vi.mock('electron', () => ({
  contextBridge: { exposeInMainWorld: (key: string, api: unknown) => exposed.push([key, api]) },
  ipcRenderer: {
    invoke,
    on: (channel: string, listener: (...args: unknown[]) => void) => {
      if (!listeners.has(channel)) listeners.set(channel, new Set());
      listeners.get(channel)!.add(listener);
    },
    removeListener: (channel: string, listener: (...args: unknown[]) => void) => listeners.get(channel)?.delete(listener),
  },
}));

describe('the preload: one typed bridge object and nothing else (checklist item 20)', () => {
  beforeEach(async () => {
    exposed.length = 0;
    vi.resetModules();
    await import('./preload');
  });

  it('exposes exactly one object, window.depotline, with one method per bridge call plus `on`', () => {
    expect(exposed.map(([key]) => key)).toEqual(['depotline']);
    const api = exposed[0]![1] as Record<string, unknown>;
    expect(Object.keys(api).sort()).toEqual([...bridgeCallNames, 'on'].sort());
    for (const value of Object.values(api)) expect(typeof value).toBe('function');
  });

  it('each method invokes its own channel with the arguments, nothing else', async () => {
    const api = exposed[0]![1] as Record<string, (args?: unknown) => Promise<unknown>>;
    for (const name of bridgeCallNames) {
      invoke.mockClear();
      await api[name]!({ probe: name });
      expect(invoke).toHaveBeenCalledExactlyOnceWith(bridgeChannel(name), { probe: name });
    }
  });

  it('`on` hands the page only the payload of the events it asked for, and unsubscribes', () => {
    const api = exposed[0]![1] as { on: (event: string, listener: (payload: unknown) => void) => () => void };
    const got: unknown[] = [];
    const off = api.on('syncStatus', (payload) => got.push(payload));
    const relay = [...listeners.get(bridgeEventChannel)!][0]!;
    const ipcEvent = { sender: { send: () => undefined }, ports: [] };
    relay(ipcEvent, { event: 'syncStatus', payload: { connection: 'live' } });
    relay(ipcEvent, { event: 'state', payload: { screen: 'locked' } });
    expect(got).toEqual([{ connection: 'live' }]);
    off();
    expect(listeners.get(bridgeEventChannel)!.size).toBe(0);
  });
});
