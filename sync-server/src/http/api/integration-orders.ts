import { AsyncLocalStorage } from 'node:async_hooks';
import {
  ErrorBody, IdempotencyKey, LocationOrderParams, maxOrderBatch, OrderAnswer, OrderBatch, OrderBatchAnswer, OrderChanges, OrderChangesQuery, OrderCreate, OrderCreateHeaders, OrderHistory,
  OrderParams, OrderUpdate,
} from '@depotline/shared';
import type { Request, RequestHandler, Response } from 'express';
import { type z } from 'zod';
import { parseInput } from '../../errors';
import { requestHash } from '../../integrations/idempotency';
import { createOrderBatch } from '../../integrations/order-batch';
import { orderChanges, orderHistory, orderStop, viewFor } from '../../integrations/order-reads';
import { orderWriterSharing } from '../../integrations/profile-filter';
import { sharingOf } from '../../integrations/sharing';
import { cancelOrder, createOrder, type OrderCaller, type OrderWrite, updateOrder } from '../../integrations/orders';
import type { LiveFeed, Touched, Trx } from '../../sync/mutations/handler';
import type { Endpoint } from '../endpoint';
import { type IntegrationCall, integrationEndpoint } from '../integration-endpoint';

/**
 * The integration API's orders (docs/api.md, "Integration API"): create (with `Idempotency-Key`),
 * update, status, status history and changes since a cursor, at one location. Each is an
 * `integrationEndpoint`: the credential, the integration, its address allowlist and its scope at
 * the location are checked before the handler runs, and every stop in an answer is the view its
 * data profile allows (`presentStopForIntegration`, through `viewFor`).
 */

/** What a call keeps beside the pipeline: the request (its headers), the response, and what to publish once committed. */
interface CallExtras {
  req: Request;
  res: Response;
  touched: Touched[];
}
const extras = new AsyncLocalStorage<CallExtras>();

const current = (): CallExtras => {
  const e = extras.getStore();
  if (!e) throw new Error('order endpoint called outside its request');
  return e;
};

/**
 * Wraps an integration endpoint: the request and response are reachable from its handler, and
 * the stops it changed go to the live feed once the answer is sent (after its transaction has
 * committed), so consoles see an order arrive as they see a colleague's edit. The changes of the
 * calls answered in one turn of the event loop are published together: a shop sending orders
 * in parallel costs the consoles one broadcast per turn, not one per order.
 */
function withExtras(endpoint: Endpoint, live: LiveFeed): Endpoint {
  return {
    ...endpoint,
    handlers: (ctx) => {
      let pending: Touched[] = [];
      const publishSoon = (touched: readonly Touched[]) => {
        if (pending.length === 0) {
          setImmediate(() => {
            const batch = pending;
            pending = [];
            live.publish(batch).catch((err: unknown) => ctx.log.error('live feed failed after an order call', { err: String(err) }));
          });
        }
        pending.push(...touched);
      };
      const enter: RequestHandler = (req, res, next) => {
        const store: CallExtras = { req, res, touched: [] };
        res.on('finish', () => {
          if (store.touched.length > 0 && res.statusCode < 300) publishSoon(store.touched);
        });
        extras.run(store, () => next());
      };
      return [enter, ...endpoint.handlers(ctx)];
    },
  };
}

const callerOf = (call: IntegrationCall<unknown, unknown, unknown>): OrderCaller =>
  ({ integrationId: call.integration.id, label: `integration:${call.integration.name}`, profile: call.integration.profile });

/** The order as the caller may see it, and the headers of a create's answer. */
function answer(call: IntegrationCall<unknown, unknown, unknown>, write: OrderWrite): { status: number; body: z.infer<typeof OrderAnswer> } {
  const e = current();
  e.touched.push(...write.touched);
  if (write.replayed) e.res.setHeader('Idempotent-Replayed', 'true');
  return { status: write.status, body: { order: viewFor(call.ctx, call.integration.profile, write.stop, orderWriterSharing) } };
}

const orderDoc = (operationId: string, summary: string, description: string) => ({ operationId, summary, description, tags: ['orders'] });
const orderAnswers = (status: number, description: string) => ({ [status]: { description, schema: OrderAnswer } });

export function integrationOrderEndpoints(live: LiveFeed): Endpoint[] {
  return [
    withExtras(integrationEndpoint({
      method: 'post',
      path: '/locations/:locationId/orders',
      params: LocationOrderParams,
      body: OrderCreate,
      scope: ({ params }) => ({ permission: 'orders.write', locationId: params.locationId }),
      transaction: true,
      handle: async (call) => {
        const { req } = current();
        const header = req.headers['idempotency-key'];
        const key = header === undefined ? null : parseInput(IdempotencyKey, header);
        const idempotency = key === null ? null : { key, requestHash: requestHash('POST', `/locations/${call.locationId}/orders`, req.body) };
        const write = await createOrder({ ctx: call.ctx, trx: call.db as Trx, caller: callerOf(call), now: call.now, audit: call.audit }, call.locationId, call.input.body, idempotency);
        return answer(call, write);
      },
      status: (r) => r.status,
      present: (r) => r.body,
      openapi: {
        ...orderDoc('createOrder', 'Create an order', 'The order becomes a stop at the location: on the route named in `route` (which must exist, on the day the window starts, in the depot\'s time zone), or on that day\'s unplanned list. '
          + 'An order reference names one order per location: a second create with it is refused (409). '
          + 'With `Idempotency-Key`, a retry of the same request is answered with the same order (header `Idempotent-Replayed: true`) and creates nothing; the key with another body is refused (422).'),
        permissions: ['orders.write'],
        headers: OrderCreateHeaders,
        responses: {
          ...orderAnswers(201, 'The order was created (or, on a replay, had been): the stop as the integration\'s data profile shows it.'),
          409: { description: 'The order reference is already used at this location, or the first request with this key is still running.', schema: ErrorBody },
          422: { description: 'The Idempotency-Key was used before with another request (`idempotency_key_reused`).', schema: ErrorBody },
        },
      },
    }), live),
    withExtras(integrationEndpoint({
      method: 'post',
      path: '/locations/:locationId/orders/batch',
      params: LocationOrderParams,
      body: OrderBatch,
      scope: ({ params }) => ({ permission: 'orders.write', locationId: params.locationId }),
      transaction: true,
      handle: async (call): Promise<z.infer<typeof OrderBatchAnswer>> => {
        const e = current();
        // Each order's request hash is the one a single create of it would have (its raw JSON).
        const raw = (e.req.body as { orders: { order: unknown }[] }).orders;
        const items = call.input.body.orders.map((o, i) => ({
          order: o.order,
          idempotency: o.idempotencyKey === undefined ? null : { key: o.idempotencyKey, requestHash: requestHash('POST', `/locations/${call.locationId}/orders`, raw[i]?.order) },
        }));
        const outcomes = await createOrderBatch({ ctx: call.ctx, trx: call.db as Trx, caller: callerOf(call), now: call.now, audit: call.audit }, call.locationId, items);
        return {
          results: outcomes.map((o) => {
            if (o.error) return { status: o.error.status, error: o.error.toBody().error };
            e.touched.push(...o.write.touched);
            return { status: o.write.status, ...(o.write.replayed ? { replayed: true as const } : {}), order: viewFor(call.ctx, call.integration.profile, o.write.stop, orderWriterSharing) };
          }),
        };
      },
      openapi: {
        ...orderDoc('createOrderBatch', 'Create many orders', `Up to ${maxOrderBatch} orders in one request and one transaction. Each is handled as a single create would handle it, with its own \`idempotencyKey\` (the same key and order as a single create: a retry either way is answered as the first time), and answered in \`results\` in the same order: its status (201, or the error a single create would have had) and the order. A refused order leaves nothing behind and the others go on.`),
        permissions: ['orders.write'],
        responses: { 200: { description: 'One result per order, in the order sent.', schema: OrderBatchAnswer } },
      },
    }), live),
    withExtras(integrationEndpoint({
      method: 'patch',
      path: '/locations/:locationId/orders/:orderRef',
      params: OrderParams,
      body: OrderUpdate,
      scope: ({ params }) => ({ permission: 'orders.write', locationId: params.locationId }),
      transaction: true,
      handle: async (call) => {
        const write = await updateOrder({ ctx: call.ctx, trx: call.db as Trx, caller: callerOf(call), now: call.now, audit: call.audit }, call.locationId, call.input.params.orderRef, call.input.body);
        return answer(call, write);
      },
      present: (r) => r.body,
      openapi: {
        ...orderDoc('updateOrder', 'Update an order', 'Changes the fields given of an order this integration created, while it is still planned (409 once it is under way, delivered, failed or cancelled). Sending what the order already says changes nothing.'),
        permissions: ['orders.write'],
        responses: orderAnswers(200, 'The order as it is now.'),
      },
    }), live),
    withExtras(integrationEndpoint({
      method: 'post',
      path: '/locations/:locationId/orders/:orderRef/cancel',
      params: OrderParams,
      scope: ({ params }) => ({ permission: 'orders.write', locationId: params.locationId }),
      transaction: true,
      handle: async (call) => answer(call, await cancelOrder(
        { ctx: call.ctx, trx: call.db as Trx, caller: callerOf(call), now: call.now, audit: call.audit }, call.locationId, call.input.params.orderRef)),
      present: (r) => r.body,
      openapi: {
        ...orderDoc('cancelOrder', 'Cancel an order', 'Cancels an order this integration created, while it is still planned (409 once it is under way or done). Cancelling a cancelled order changes nothing.'),
        permissions: ['orders.write'],
        responses: orderAnswers(200, 'The order, cancelled.'),
      },
    }), live),
    integrationEndpoint({
      method: 'get',
      path: '/locations/:locationId/orders/:orderRef',
      params: OrderParams,
      scope: ({ params }) => ({ permission: ['status.read', 'orders.read'], locationId: params.locationId }),
      handle: async (call) => {
        const row = await orderStop(call.db, call.integration, call.locationId, call.input.params.orderRef);
        return { order: viewFor(call.ctx, call.integration.profile, row, await sharingOf(call.db, call.integration, row)) };
      },
      openapi: {
        ...orderDoc('getOrder', 'Read an order\'s status', 'The order at the location with this reference, as the integration\'s data profile shows it.'),
        permissions: ['status.read', 'orders.read'],
        responses: orderAnswers(200, 'The order.'),
      },
    }),
    integrationEndpoint({
      method: 'get',
      path: '/locations/:locationId/orders/:orderRef/history',
      params: OrderParams,
      scope: ({ params }) => ({ permission: ['status.read', 'orders.read'], locationId: params.locationId }),
      handle: (call) => orderHistory(call.ctx, call.db, call.integration, call.integration.profile, call.locationId, call.input.params.orderRef),
      openapi: {
        ...orderDoc('getOrderHistory', 'Read an order\'s status history', 'Each status the order has had, oldest first, with when; never who changed it.'),
        permissions: ['status.read', 'orders.read'],
        responses: { 200: { description: 'The order and its history.', schema: OrderHistory } },
      },
    }),
    integrationEndpoint({
      method: 'get',
      path: '/locations/:locationId/order-changes',
      params: LocationOrderParams,
      query: OrderChangesQuery,
      scope: ({ params }) => ({ permission: 'orders.read', locationId: params.locationId }),
      handle: (call) => orderChanges(call.ctx, call.db, call.integration, call.integration.profile, call.locationId, call.input.query.cursor, call.input.query.limit),
      openapi: {
        ...orderDoc('listOrderChanges', 'List orders changed since a cursor', 'Orders created or changed at the location after `cursor`, each once at its current state, in the order of their latest change. '
          + 'Keep the answer\'s `cursor` and send it next time; page while `hasMore`.'),
        permissions: ['orders.read'],
        responses: { 200: { description: 'A page of changed orders.', schema: OrderChanges } },
      },
    }),
  ];
}
