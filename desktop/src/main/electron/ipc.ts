import type { IpcMain, IpcMainInvokeEvent } from 'electron';
import { bridgeCallNames, bridgeChannel, bridgeEventChannel, type BridgeEventMessage } from '@depotline/shared';
import type { BridgeDispatcher, BridgeSender } from '../bridge/dispatch';
import { isAppUrl } from '../security/renderer-policy';

/** The sender of an IPC call as the dispatcher judges it: the frame's URL and whether it is top-level. */
export function senderOf(event: Pick<IpcMainInvokeEvent, 'senderFrame'>): BridgeSender {
  const frame = event.senderFrame;
  return { url: frame?.url ?? null, isMainFrame: frame !== null && frame.parent === null };
}

/** Item 17: only the console's own top-level app:// page may call the bridge. */
export function isTrustedAppSender(sender: BridgeSender): boolean {
  return sender.isMainFrame && isAppUrl(sender.url);
}

/** One `ipcMain.handle` per bridge call; each goes through the dispatcher's checks. */
export function registerBridge(ipcMain: Pick<IpcMain, 'handle'>, dispatcher: BridgeDispatcher): void {
  for (const name of bridgeCallNames) {
    ipcMain.handle(bridgeChannel(name), (event: IpcMainInvokeEvent, args: unknown) => dispatcher.dispatch(name, senderOf(event), args));
  }
}

export interface BridgeEventTarget {
  isDestroyed(): boolean;
  getURL(): string;
  send(channel: string, message: BridgeEventMessage): void;
}

/**
 * Pushes go to the console window only (never broadcast to every webContents), and only while
 * it shows the console's own page.
 */
export function sendBridgeEvent(target: BridgeEventTarget | null, message: BridgeEventMessage): void {
  if (target && !target.isDestroyed() && isAppUrl(target.getURL())) target.send(bridgeEventChannel, message);
}
