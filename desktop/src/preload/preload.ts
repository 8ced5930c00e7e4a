/**
 * The preload: the typed bridge and nothing else (docs/architecture.md; Electron security
 * checklist item 20: no Electron API reaches the page). One object, `window.depotline`, whose
 * methods each invoke one channel of shared/bridge.ts, plus `on` for pushed events. The
 * IpcRendererEvent is never handed to the page, only the payload. No logic, no Node.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type {
  BridgeCallName, bridgeEventChannel, BridgeEventMessage, BridgeEventName, BridgeEventPayload, DepotlineBridge,
} from '@depotline/shared';

// Channel names are typed against the bridge map (a typo does not compile), but written out:
// importing the map's values would pull zod and every schema into the sandboxed preload.
type Channel = `depotline:${BridgeCallName}`;
const eventChannel: typeof bridgeEventChannel = 'depotline:event';

const call = (channel: Channel) => (args?: unknown) => ipcRenderer.invoke(channel, args ?? {});

const depotline = {
  getState: call('depotline:getState'),
  signIn: call('depotline:signIn'),
  signInWithSecurityKey: call('depotline:signInWithSecurityKey'),
  confirmMfaEnrollment: call('depotline:confirmMfaEnrollment'),
  completePasswordChange: call('depotline:completePasswordChange'),
  backToSignIn: call('depotline:backToSignIn'),
  startOver: call('depotline:startOver'),
  lock: call('depotline:lock'),
  unlock: call('depotline:unlock'),
  signOut: call('depotline:signOut'),
  reportActivity: call('depotline:reportActivity'),
  listLocations: call('depotline:listLocations'),
  queryBoard: call('depotline:queryBoard'),
  listStops: call('depotline:listStops'),
  boardSummary: call('depotline:boardSummary'),
  stopDetail: call('depotline:stopDetail'),
  setStopStatus: call('depotline:setStopStatus'),
  editStopNotes: call('depotline:editStopNotes'),
  revealStopPhone: call('depotline:revealStopPhone'),
  listPositions: call('depotline:listPositions'),
  routeMap: call('depotline:routeMap'),
  syncStatus: call('depotline:syncStatus'),
  syncNow: call('depotline:syncNow'),
  listRejected: call('depotline:listRejected'),
  dismissRejected: call('depotline:dismissRejected'),
  securityOverview: call('depotline:securityOverview'),
  securityNotices: call('depotline:securityNotices'),
  renameDevice: call('depotline:renameDevice'),
  revokeDevice: call('depotline:revokeDevice'),
  revokeSession: call('depotline:revokeSession'),
  markAlertRead: call('depotline:markAlertRead'),
  decideSignIn: call('depotline:decideSignIn'),
  locationSecurity: call('depotline:locationSecurity'),
  decideUserSignIn: call('depotline:decideUserSignIn'),
  regenerateRecoveryCodes: call('depotline:regenerateRecoveryCodes'),
  changePassword: call('depotline:changePassword'),
  renameSecurityKey: call('depotline:renameSecurityKey'),
  removeSecurityKey: call('depotline:removeSecurityKey'),
  registerSecurityKey: call('depotline:registerSecurityKey'),
  listGroups: call('depotline:listGroups'),
  createGroup: call('depotline:createGroup'),
  updateGroup: call('depotline:updateGroup'),
  retireGroup: call('depotline:retireGroup'),
  locationAccess: call('depotline:locationAccess'),
  approvals: call('depotline:approvals'),
  approvalNotices: call('depotline:approvalNotices'),
  decideApproval: call('depotline:decideApproval'),
  withdrawApproval: call('depotline:withdrawApproval'),
  exportPreview: call('depotline:exportPreview'),
  exportStops: call('depotline:exportStops'),
  downloadApprovedExport: call('depotline:downloadApprovedExport'),
  planDay: call('depotline:planDay'),
  routePlan: call('depotline:routePlan'),
  createRoute: call('depotline:createRoute'),
  updateRoute: call('depotline:updateRoute'),
  assignRoutes: call('depotline:assignRoutes'),
  cancelRoute: call('depotline:cancelRoute'),
  reorderStops: call('depotline:reorderStops'),
  moveStops: call('depotline:moveStops'),
  cancelStops: call('depotline:cancelStops'),
  listFleet: call('depotline:listFleet'),
  createDriver: call('depotline:createDriver'),
  updateDriver: call('depotline:updateDriver'),
  retireDriver: call('depotline:retireDriver'),
  createVehicle: call('depotline:createVehicle'),
  updateVehicle: call('depotline:updateVehicle'),
  retireVehicle: call('depotline:retireVehicle'),
  stopOrder: call('depotline:stopOrder'),
  createStop: call('depotline:createStop'),
  updateStop: call('depotline:updateStop'),
  importChooseFile: call('depotline:importChooseFile'),
  importPreview: call('depotline:importPreview'),
  importApply: call('depotline:importApply'),
  importProgress: call('depotline:importProgress'),
  importDiscard: call('depotline:importDiscard'),
  listIntegrations: call('depotline:listIntegrations'),
  createIntegration: call('depotline:createIntegration'),
  updateIntegration: call('depotline:updateIntegration'),
  setIntegrationProfile: call('depotline:setIntegrationProfile'),
  setIntegrationSuspended: call('depotline:setIntegrationSuspended'),
  integrationKeys: call('depotline:integrationKeys'),
  createIntegrationKey: call('depotline:createIntegrationKey'),
  rotateIntegrationKey: call('depotline:rotateIntegrationKey'),
  revokeIntegrationKey: call('depotline:revokeIntegrationKey'),
  integrationOAuthClients: call('depotline:integrationOAuthClients'),
  createOAuthClient: call('depotline:createOAuthClient'),
  rotateOAuthClientSecret: call('depotline:rotateOAuthClientSecret'),
  revokeOAuthClient: call('depotline:revokeOAuthClient'),
  integrationWebhooks: call('depotline:integrationWebhooks'),
  createWebhook: call('depotline:createWebhook'),
  setWebhookPaused: call('depotline:setWebhookPaused'),
  updateWebhookEvents: call('depotline:updateWebhookEvents'),
  rotateWebhookSecret: call('depotline:rotateWebhookSecret'),
  deleteWebhook: call('depotline:deleteWebhook'),
  integrationActivity: call('depotline:integrationActivity'),
  stopProofs: call('depotline:stopProofs'),
  proofFile: call('depotline:proofFile'),
  exportProofBundle: call('depotline:exportProofBundle'),
  requestProofDeletion: call('depotline:requestProofDeletion'),
  privacyRequests: call('depotline:privacyRequests'),
  createPrivacyRequest: call('depotline:createPrivacyRequest'),
  closePrivacyRequest: call('depotline:closePrivacyRequest'),
  exportPrivacyAccess: call('depotline:exportPrivacyAccess'),
  erasePrivacyRequest: call('depotline:erasePrivacyRequest'),
  rectifyPrivacyRequest: call('depotline:rectifyPrivacyRequest'),
  searchCustomer: call('depotline:searchCustomer'),
  recordCustomerConsent: call('depotline:recordCustomerConsent'),
  setCustomerSharing: call('depotline:setCustomerSharing'),
  depotRetention: call('depotline:depotRetention'),
  setDepotRetention: call('depotline:setDepotRetention'),
  legalHolds: call('depotline:legalHolds'),
  placeLegalHold: call('depotline:placeLegalHold'),
  releaseLegalHold: call('depotline:releaseLegalHold'),
  stopTrackingLinks: call('depotline:stopTrackingLinks'),
  createTrackingLink: call('depotline:createTrackingLink'),
  revokeTrackingLink: call('depotline:revokeTrackingLink'),
  on<E extends BridgeEventName>(event: E, listener: (payload: BridgeEventPayload<E>) => void): () => void {
    const relay = (_event: IpcRendererEvent, message: BridgeEventMessage) => {
      if (message.event === event) listener(message.payload as BridgeEventPayload<E>);
    };
    ipcRenderer.on(eventChannel, relay);
    return () => {
      ipcRenderer.removeListener(eventChannel, relay);
    };
  },
} satisfies DepotlineBridge;

contextBridge.exposeInMainWorld('depotline', depotline);
