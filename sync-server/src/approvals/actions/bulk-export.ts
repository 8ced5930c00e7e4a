import { exportClassPermission, type Permission } from '@depotline/shared';
import type { Db } from '../../db/database';
import { allowsClasses, countExportRows } from '../../exports/export-rows';
import { operatorViewer } from '../../exports/export-viewer';
import { loadViewerScope } from '../../sync/visibility';
import type { SensitiveActionHandler } from '../action';

async function locationName(db: Db, locationId: string): Promise<string | null> {
  return (await db.selectFrom('locations').select('name').where('id', '=', locationId).executeTakeFirst())?.name ?? null;
}

/**
 * `export.bulk`: an export above the bulk row limit. Approval applies nothing: it lets the
 * requester run exactly this export once before the request expires (exports/ calls
 * `useApprovedChange`), with their access as it is then. The approver must hold the export
 * permission of every data class in it.
 */
export const bulkExport: SensitiveActionHandler<'export.bulk'> = {
  touches: (_db, change) => Promise.resolve([change.locationId]),
  handsOut: (_db, change) => Promise.resolve([...new Set<Permission>(['location.read', ...change.classes.map((c) => exportClassPermission[c])])]),
  subjectUserId: () => null,
  async mayRequest(db, requester, change, now) {
    const { view } = await loadViewerScope(db, requester.profile, change.locationId, now);
    const may = view !== null && (allowsClasses(view.general, change.classes) || (view.assigned.size > 0 && allowsClasses(view.assigned, change.classes)));
    return may ? null : `they may not export ${change.classes.join(' and ')} data at ${change.locationId}`;
  },
  async check(db, change) {
    return (await locationName(db, change.locationId)) === null ? 'the location does not exist' : null;
  },
  async summary(db, change) {
    const name = (await locationName(db, change.locationId)) ?? change.locationId;
    const rows = await countExportRows(db, operatorViewer({ userId: null, label: 'count', deviceId: null, ip: null }, change.locationId).scope, { ...change });
    return `Let the requester download, once and before this request expires, a ${change.format.toUpperCase()} export of the stops and routes of ${name} `
      + `from ${change.from} to ${change.to} with ${change.classes.join(' and ')} data: ${rows} rows at most (fewer if their access shows less).`;
  },
};
