import { bridgeCallNames, bridgeChannel, bridgeEventChannel, type BridgeEventMessage, type BridgeResult } from '@depotline/shared';
import type { IpcMain, IpcMainInvokeEvent } from 'electron';
import { describe, expect, it, vi } from 'vitest';
import { BridgeDispatcher, type BridgeHandlers } from '../bridge/dispatch';
import { isTrustedAppSender, registerBridge, sendBridgeEvent } from './ipc';

function registered() {
  const handlers = new Map<string, (event: IpcMainInvokeEvent, args: unknown) => Promise<BridgeResult<unknown>>>();
  const ipcMain = { handle: (channel: string, listener: never) => void handlers.set(channel, listener) } as unknown as Pick<IpcMain, 'handle'>;
  const lock = vi.fn(() => Promise.resolve({ screen: 'sign_in', serverUrl: 'http://127.0.0.1:8787', notice: null } as const));
  const all = Object.fromEntries(bridgeCallNames.map((n) => [n, vi.fn()])) as unknown as BridgeHandlers;
  registerBridge(ipcMain, new BridgeDispatcher({ ...all, lock }, { isTrustedSender: isTrustedAppSender, log: { warn: () => undefined } }));
  return { handlers, lock };
}

const frame = (url: string, top = true) => ({ senderFrame: { url, parent: top ? null : {} } }) as unknown as IpcMainInvokeEvent;

describe('IPC registration', () => {
  it('registers exactly one handler per bridge call, on its channel', () => {
    const { handlers } = registered();
    expect([...handlers.keys()].sort()).toEqual(bridgeCallNames.map((n) => bridgeChannel(n)).sort());
  });

  it('17: checks the sender frame of every call', async () => {
    const { handlers, lock } = registered();
    const handle = handlers.get(bridgeChannel('lock'))!;
    expect(await handle(frame('app://depotline/index.html'), {})).toMatchObject({ ok: true });
    expect(lock).toHaveBeenCalledOnce();
    for (const event of [frame('https://evil.example/'), frame('app://depotline/index.html', false), { senderFrame: null } as unknown as IpcMainInvokeEvent]) {
      expect(await handle(event, {})).toMatchObject({ ok: false, error: { code: 'untrusted_sender' } });
    }
    expect(lock).toHaveBeenCalledOnce();
  });

  it('pushes events only to the console page', () => {
    const message: BridgeEventMessage = { event: 'syncStatus', payload: { connection: 'live', pendingCount: 0, lastSyncAt: null, lastError: null } };
    const send = vi.fn();
    sendBridgeEvent({ isDestroyed: () => false, getURL: () => 'app://depotline/index.html', send }, message);
    expect(send).toHaveBeenCalledExactlyOnceWith(bridgeEventChannel, message);
    const elsewhere = vi.fn();
    sendBridgeEvent({ isDestroyed: () => false, getURL: () => 'https://evil.example/', send: elsewhere }, message);
    sendBridgeEvent({ isDestroyed: () => true, getURL: () => 'app://depotline/index.html', send: elsewhere }, message);
    expect(elsewhere).not.toHaveBeenCalled();
  });
});
