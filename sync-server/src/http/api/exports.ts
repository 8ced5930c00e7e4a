import {
  EntityId, ExportPreviewQuery, type ExportPreview, exportColumnsFor, exportRowCountHeader, ExportStopsQuery, type ExportStopsRequest,
} from '@depotline/shared';
import type { Response } from 'express';
import { z } from 'zod';
import { runApprovedExport } from '../../exports/approved-export';
import { countExportRows } from '../../exports/export-rows';
import { type BuiltExport, exportRefusal, runExport } from '../../exports/export-stops';
import { viewerForCaller } from '../../exports/export-viewer';
import { type Endpoint, endpoint } from '../endpoint';

const LocationParams = z.object({ locationId: EntityId });

/** The file as a download: never cached (it holds customer data), its row count in a header. */
function sendFile(res: Response, built: BuiltExport): void {
  res.status(200)
    .set('Content-Type', built.file.contentType)
    .set('Content-Disposition', `attachment; filename="${built.file.fileName}"`)
    .set('Cache-Control', 'no-store')
    .set(exportRowCountHeader, String(built.rowCount))
    .send(built.file.body);
}

/**
 * Exports of a location's stops and routes (docs/api.md "Exports"). Each data class needs its
 * own permission, checked inside (one endpoint, two permissions), and every outcome, refusals
 * included, is audited as `export.stops`. A bulk export is refused with `approval_required`
 * until a second person approves an `export.bulk` request; its requester then downloads it
 * once from `/approvals/:approvalId/export`.
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
      respond: sendFile,
    }),
    endpoint({
      method: 'get',
      path: '/approvals/:approvalId/export',
      params: z.object({ approvalId: z.string().min(1).max(64) }),
      // The approval is used and the audit entry written with the read, in one transaction.
      transaction: true,
      handle: ({ ctx, db, caller, input: { params }, now, audit }) => runApprovedExport(ctx, db, {
        userId: caller.principal.userId,
        viewerAt: (locationId) => viewerForCaller(db, caller, locationId, now),
      }, params.approvalId, now, (event) => audit(event)),
      respond: sendFile,
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
