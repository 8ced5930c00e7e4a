import {
  EntityId, ExportPreviewQuery, type ExportPreview, exportColumnsFor, exportRowCountHeader, ExportStopsQuery, type ExportStopsRequest,
} from '@depotline/shared';
import { z } from 'zod';
import { countExportRows } from '../../exports/export-rows';
import { type BuiltExport, exportRefusal, runExport } from '../../exports/export-stops';
import { viewerForCaller } from '../../exports/export-viewer';
import { type Endpoint, endpoint } from '../endpoint';

const LocationParams = z.object({ locationId: EntityId });

/**
 * Exports of a location's stops and routes (docs/api.md "Exports"). Each data class needs its
 * own permission, checked inside (one endpoint, two permissions), and every outcome, refusals
 * included, is audited as `export.stops`.
 */
export function exportEndpoints(): Endpoint[] {
  return [
    endpoint({
      method: 'get',
      path: '/locations/:locationId/exports/stops',
      params: LocationParams,
      query: ExportStopsQuery,
      // The rows are read and the audit entry written in one transaction.
      transaction: true,
      handle: async ({ ctx, db, caller, input: { params, query }, now, audit }) => {
        const request: ExportStopsRequest = { locationId: params.locationId, ...query };
        const viewer = await viewerForCaller(db, caller, params.locationId, now);
        return runExport(ctx, db, viewer, request, now, (event) => audit(event));
      },
      respond: (res, built: BuiltExport) => {
        res.status(200)
          .set('Content-Type', built.file.contentType)
          .set('Content-Disposition', `attachment; filename="${built.file.fileName}"`)
          .set('Cache-Control', 'no-store')
          .set(exportRowCountHeader, String(built.rowCount))
          .send(built.file.body);
      },
    }),
    endpoint({
      method: 'get',
      path: '/locations/:locationId/exports/stops/preview',
      params: LocationParams,
      query: ExportPreviewQuery,
      handle: async ({ ctx, caller, input: { params, query }, now, audit }): Promise<ExportPreview> => {
        const request: ExportStopsRequest = { locationId: params.locationId, format: 'csv', ...query };
        const viewer = await viewerForCaller(ctx.db, caller, params.locationId, now);
        const refusal = exportRefusal(ctx, viewer, request);
        if (refusal) {
          audit({
            action: 'export.preview', outcome: 'denied', targetType: 'location', targetId: request.locationId, locationId: request.locationId,
            details: { from: request.from, to: request.to, classes: request.classes, reason: refusal.reason },
          });
          throw refusal.error;
        }
        const { maxRangeDays, bulkRows } = ctx.config.exports;
        const rowCount = await countExportRows(ctx.db, viewer.scope, request);
        return {
          locationId: request.locationId, from: request.from, to: request.to, classes: request.classes,
          columns: exportColumnsFor(request.classes).map((c) => c.key), rowCount, maxRangeDays, bulkRows, needsApproval: rowCount > bulkRows,
        };
      },
    }),
  ];
}
