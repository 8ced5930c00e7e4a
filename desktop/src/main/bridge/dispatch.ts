import {
  bridgeCalls, type BridgeArgs, type BridgeCallName, type BridgeResult, type BridgeValue,
} from '@depotline/shared';
import type { z } from 'zod';
import type { ConsoleService } from '../service/console-service';
import { toBridgeError } from '../service/console-error';

/** The handler of each bridge call, with its arguments already parsed. */
export type BridgeHandlers = {
  [K in BridgeCallName]: (args: z.output<(typeof bridgeCalls)[K]['args']>) => Promise<BridgeValue<K>>;
};

export function bridgeHandlersFor(service: ConsoleService): BridgeHandlers {
  return {
    getState: () => service.getState(),
    signIn: (args) => service.signIn(args),
    signInWithSecurityKey: (args) => service.signInWithSecurityKey(args),
    confirmMfaEnrollment: (args) => service.confirmMfaEnrollment(args),
    completePasswordChange: (args) => service.completePasswordChange(args),
    backToSignIn: () => service.backToSignIn(),
    startOver: () => service.startOver(),
    lock: () => service.lock('manual'),
    unlock: (args) => service.unlock(args),
    signOut: () => service.signOut(),
    reportActivity: () => service.reportActivity(),
    listLocations: () => service.data.listLocations(),
    queryBoard: (args) => service.data.queryBoard(args),
    listStops: (args) => service.data.listStops(args),
    boardSummary: (args) => service.data.boardSummary(args),
    stopDetail: (args) => service.data.stopDetail(args),
    setStopStatus: (args) => service.data.setStopStatus(args),
    editStopNotes: (args) => service.data.editStopNotes(args),
    revealStopPhone: (args) => service.data.revealStopPhone(args),
    listPositions: (args) => service.data.listPositions(args),
    routeMap: (args) => service.map.routeMap(args),
    syncStatus: () => service.syncStatus(),
    syncNow: () => service.data.syncNow(),
    listRejected: () => service.data.listRejected(),
    dismissRejected: (args) => service.data.dismissRejected(args),
    securityOverview: () => service.security.overview(),
    securityNotices: () => service.security.notices(),
    renameDevice: (args) => service.security.renameDevice(args),
    revokeDevice: (args) => service.security.revokeDevice(args),
    revokeSession: (args) => service.security.revokeSession(args),
    markAlertRead: (args) => service.security.markAlertRead(args),
    decideSignIn: (args) => service.security.decideSignIn(args),
    locationSecurity: (args) => service.security.locationSecurity(args),
    decideUserSignIn: (args) => service.security.decideUserSignIn(args),
    regenerateRecoveryCodes: (args) => service.security.regenerateRecoveryCodes(args),
    changePassword: (args) => service.security.changePassword(args),
    renameSecurityKey: (args) => service.security.renameSecurityKey(args),
    removeSecurityKey: (args) => service.security.removeSecurityKey(args),
    registerSecurityKey: (args) => service.security.registerSecurityKey(args),
    listGroups: (args) => service.governance.listGroups(args),
    createGroup: (args) => service.governance.createGroup(args),
    updateGroup: (args) => service.governance.updateGroup(args),
    retireGroup: (args) => service.governance.retireGroup(args),
    locationAccess: (args) => service.governance.locationAccess(args),
    approvals: () => service.governance.approvals(),
    approvalNotices: () => service.governance.approvalNotices(),
    decideApproval: (args) => service.governance.decideApproval(args),
    withdrawApproval: (args) => service.governance.withdrawApproval(args),
    exportPreview: (args) => service.governance.exportPreview(args),
    exportStops: (args) => service.governance.exportStops(args),
    downloadApprovedExport: (args) => service.governance.downloadApprovedExport(args),
    planDay: (args) => service.planning.planDay(args),
    routePlan: (args) => service.planning.routePlan(args),
    createRoute: (args) => service.planning.createRoute(args),
    updateRoute: (args) => service.planning.updateRoute(args),
    assignRoutes: (args) => service.planning.assignRoutes(args),
    cancelRoute: (args) => service.planning.cancelRoute(args),
    reorderStops: (args) => service.planning.reorderStops(args),
    moveStops: (args) => service.planning.moveStops(args),
    cancelStops: (args) => service.planning.cancelStops(args),
    listFleet: (args) => service.planning.listFleet(args),
    createDriver: (args) => service.planning.createDriver(args),
    updateDriver: (args) => service.planning.updateDriver(args),
    retireDriver: (args) => service.planning.retireDriver(args),
    createVehicle: (args) => service.planning.createVehicle(args),
    updateVehicle: (args) => service.planning.updateVehicle(args),
    retireVehicle: (args) => service.planning.retireVehicle(args),
    stopOrder: (args) => service.stopOrders.stopOrder(args),
    createStop: (args) => service.stopOrders.createStop(args),
    updateStop: (args) => service.stopOrders.updateStop(args),
    importChooseFile: (args) => service.imports.chooseFile(args),
    importPreview: (args) => service.imports.preview(args),
    importApply: (args) => service.imports.apply(args),
    importProgress: () => Promise.resolve(service.imports.progress()),
    importDiscard: () => Promise.resolve(service.imports.discard()),
    listIntegrations: (args) => service.integrations.listIntegrations(args),
    createIntegration: (args) => service.integrations.createIntegration(args),
    updateIntegration: (args) => service.integrations.updateIntegration(args),
    setIntegrationProfile: (args) => service.integrations.setIntegrationProfile(args),
    setIntegrationSuspended: (args) => service.integrations.setIntegrationSuspended(args),
    integrationKeys: (args) => service.integrations.integrationKeys(args),
    createIntegrationKey: (args) => service.integrations.createIntegrationKey(args),
    rotateIntegrationKey: (args) => service.integrations.rotateIntegrationKey(args),
    revokeIntegrationKey: (args) => service.integrations.revokeIntegrationKey(args),
    integrationOAuthClients: (args) => service.integrations.integrationOAuthClients(args),
    createOAuthClient: (args) => service.integrations.createOAuthClient(args),
    rotateOAuthClientSecret: (args) => service.integrations.rotateOAuthClientSecret(args),
    revokeOAuthClient: (args) => service.integrations.revokeOAuthClient(args),
    integrationWebhooks: (args) => service.integrations.hooks.integrationWebhooks(args),
    createWebhook: (args) => service.integrations.hooks.createWebhook(args),
    setWebhookPaused: (args) => service.integrations.hooks.setWebhookPaused(args),
    updateWebhookEvents: (args) => service.integrations.hooks.updateWebhookEvents(args),
    rotateWebhookSecret: (args) => service.integrations.hooks.rotateWebhookSecret(args),
    deleteWebhook: (args) => service.integrations.hooks.deleteWebhook(args),
    integrationActivity: (args) => service.integrations.hooks.integrationActivity(args),
    stopTrackingLinks: (args) => service.tracking.stopTrackingLinks(args),
    createTrackingLink: (args) => service.tracking.createTrackingLink(args),
    revokeTrackingLink: (args) => service.tracking.revokeTrackingLink(args),
    stopProofs: (args) => service.proofs.stopProofs(args),
    proofFile: (args) => service.proofs.proofFile(args),
    exportProofBundle: (args) => service.proofs.exportProofBundle(args),
    requestProofDeletion: (args) => service.proofs.requestProofDeletion(args),
    privacyRequests: (args) => service.privacy.privacyRequests(args),
    createPrivacyRequest: (args) => service.privacy.createPrivacyRequest(args),
    closePrivacyRequest: (args) => service.privacy.closePrivacyRequest(args),
    exportPrivacyAccess: (args) => service.privacy.exportPrivacyAccess(args),
    erasePrivacyRequest: (args) => service.privacy.erasePrivacyRequest(args),
    rectifyPrivacyRequest: (args) => service.privacy.rectifyPrivacyRequest(args),
    searchCustomer: (args) => service.privacy.searchCustomer(args),
    recordCustomerConsent: (args) => service.privacy.recordCustomerConsent(args),
    setCustomerSharing: (args) => service.privacy.setCustomerSharing(args),
    depotRetention: (args) => service.privacy.retention.depotRetention(args),
    setDepotRetention: (args) => service.privacy.retention.setDepotRetention(args),
    legalHolds: (args) => service.privacy.retention.legalHolds(args),
    placeLegalHold: (args) => service.privacy.retention.placeLegalHold(args),
    releaseLegalHold: (args) => service.privacy.retention.releaseLegalHold(args),
  };
}

/** Who sent a call, as the transport saw it (Electron: the sender frame). */
export interface BridgeSender {
  url: string | null | undefined;
  /** Calls from subframes are refused: the console has none, so one is something injected. */
  isMainFrame: boolean;
}

export interface BridgeLog {
  warn(message: string, fields?: Record<string, string | number | boolean | null>): void;
}

const isCallName = (name: string): name is BridgeCallName => Object.hasOwn(bridgeCalls, name);

/**
 * Every bridge call goes through here, in Electron and in the e2e test host alike (VS Code's
 * validatedIpcMain; Electron security checklist item 17, "validate the sender of all IPC
 * messages"): the sender must be the console's own page, the arguments must parse with the
 * call's schema from shared/bridge.ts, and the answer is parsed with the call's result schema,
 * which drops any field the contract does not declare before it reaches the renderer.
 */
export class BridgeDispatcher {
  readonly #handlers: BridgeHandlers;
  readonly #isTrustedSender: (sender: BridgeSender) => boolean;
  readonly #log: BridgeLog;

  constructor(handlers: BridgeHandlers, options: { isTrustedSender: (sender: BridgeSender) => boolean; log?: BridgeLog }) {
    this.#handlers = handlers;
    this.#isTrustedSender = options.isTrustedSender;
    this.#log = options.log ?? { warn: (message, fields) => console.warn(`[depotline bridge] ${message}`, fields ?? {}) };
  }

  async dispatch(name: string, sender: BridgeSender, rawArgs: unknown): Promise<BridgeResult<unknown>> {
    if (!isCallName(name)) {
      this.#log.warn('unknown bridge call', { name: name.slice(0, 64) });
      return { ok: false, error: { code: 'bad_request', message: 'Unknown call.' } };
    }
    if (!this.#isTrustedSender(sender)) {
      // Do not echo the URL back: it is attacker-chosen. Log its scheme only.
      this.#log.warn('bridge call from an untrusted sender refused', { name, scheme: schemeOf(sender.url), mainFrame: sender.isMainFrame });
      return { ok: false, error: { code: 'untrusted_sender', message: 'This call did not come from the Depotline console.' } };
    }
    return this.#call(name, rawArgs);
  }

  async #call<K extends BridgeCallName>(name: K, rawArgs: unknown): Promise<BridgeResult<BridgeValue<K>>> {
    const contract = bridgeCalls[name];
    const parsed = contract.args.safeParse(rawArgs ?? {});
    if (!parsed.success) {
      // Paths and messages only: the rejected values may be passwords.
      const issues = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(arguments)'}: ${i.message}`).join('; ');
      return { ok: false, error: { code: 'bad_request', message: `The request was not valid: ${issues}` } };
    }
    let value: unknown;
    try {
      const handler = this.#handlers[name] as (args: BridgeArgs<K>) => Promise<BridgeValue<K>>;
      value = await handler(parsed.data as BridgeArgs<K>);
    } catch (err) {
      const error = toBridgeError(err);
      if (error.code === 'internal') this.#log.warn('bridge call failed', { name, error: err instanceof Error ? err.name : typeof err });
      return { ok: false, error };
    }
    const result = contract.result.safeParse(value);
    if (!result.success) {
      this.#log.warn('bridge answer broke its contract', { name, issue: result.error.issues[0]?.path.join('.') ?? '' });
      return { ok: false, error: toBridgeError(new Error('contract')) };
    }
    return { ok: true, value: result.data as BridgeValue<K> };
  }
}

function schemeOf(url: string | null | undefined): string {
  if (!url) return 'none';
  try {
    return new URL(url).protocol;
  } catch {
    return 'invalid';
  }
}
