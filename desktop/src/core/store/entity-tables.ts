import type { Driver, DriverPosition, EncryptedStopField, RedactableStopField, Route, Stop, StopStatus, Vehicle } from '@depotline/shared';
import { encryptedStopFields, FailureReason, redactableStopFields, StopHandover, StopStatus as StopStatusSchema } from '@depotline/shared';
import type { SqlConnection, SqlRow, SqlValue } from './sql-binding';

export type EntityKind = 'route' | 'stop' | 'driver' | 'vehicle' | 'position';

export interface EntityByKind {
  route: Route;
  stop: Stop;
  driver: Driver;
  vehicle: Vehicle;
  position: DriverPosition;
}

/** How one entity kind maps to its table. Column names are ours, never caller input. */
interface TableSpec<K extends EntityKind> {
  readonly table: string;
  readonly idColumn: string;
  idOf(e: EntityByKind[K]): string;
  toColumns(e: EntityByKind[K]): Record<string, SqlValue>;
  fromRow(row: SqlRow): EntityByKind[K];
}

const redactable: readonly RedactableStopField[] = redactableStopFields;

export const tables: { readonly [K in EntityKind]: TableSpec<K> } = {
  route: {
    table: 'routes',
    idColumn: 'id',
    idOf: (r) => r.id,
    toColumns: (r) => ({
      id: r.id, location_id: r.locationId, name: r.name, date: r.date, driver_id: r.driverId,
      vehicle_id: r.vehicleId, version: r.version, updated_at: r.updatedAt, updated_by: r.updatedBy,
    }),
    fromRow: (row) => ({
      id: text(row, 'id'), locationId: text(row, 'location_id'), name: text(row, 'name'), date: text(row, 'date'),
      driverId: textOrNull(row, 'driver_id'), vehicleId: textOrNull(row, 'vehicle_id'), version: int(row, 'version'),
      updatedAt: int(row, 'updated_at'), updatedBy: textOrNull(row, 'updated_by'),
    }),
  },
  stop: {
    table: 'stops',
    idColumn: 'id',
    idOf: (s) => s.id,
    toColumns: (s) => ({
      id: s.id, location_id: s.locationId, route_id: s.routeId, sequence: s.sequence,
      customer_name: s.customerName ?? null, address: s.address ?? null, phone: s.phone ?? null, notes: s.notes ?? null,
      order_ref: s.orderRef, parcel_count: s.parcelCount, barcodes: JSON.stringify(s.barcodes),
      latitude: s.coordinates?.lat ?? null, longitude: s.coordinates?.lng ?? null, email: s.email ?? null,
      minimum_age: s.minimumAge, id_check: s.idCheck ? 1 : 0, payment_ref: s.paymentRef ?? null, cod_amount: s.codAmount ?? null,
      delivery_fee: s.deliveryFee ?? null, currency: s.currency ?? null, failure_reason: s.failureReason, failure_note: s.failureNote ?? null,
      pin_required: s.pinRequired === undefined ? null : s.pinRequired ? 1 : 0, handover: s.handover ? JSON.stringify(s.handover) : null,
      // Withheld fields (the server could not verify them) are hidden too, and named as `withheld:<field>`.
      hidden_fields: JSON.stringify([...redactable.filter((f) => s[f] === undefined), ...(s.withheld ?? []).map((f) => `withheld:${f}`)]),
      window_start: s.window.start, window_end: s.window.end, status: s.status, eta: s.eta,
      version: s.version, updated_at: s.updatedAt, updated_by: s.updatedBy, pseudonymised: s.pseudonymised ? 1 : 0, held: s.held ? 1 : 0,
    }),
    fromRow: (row) => {
      const hidden = new Set(parseHidden(text(row, 'hidden_fields')));
      const stop: Stop = {
        id: text(row, 'id'), locationId: text(row, 'location_id'), routeId: text(row, 'route_id'), sequence: int(row, 'sequence'),
        window: { start: int(row, 'window_start'), end: int(row, 'window_end') },
        status: StopStatusSchema.parse(text(row, 'status')) satisfies StopStatus,
        eta: intOrNull(row, 'eta'), version: int(row, 'version'), updatedAt: int(row, 'updated_at'),
        updatedBy: textOrNull(row, 'updated_by'),
        orderRef: textOrNull(row, 'order_ref'), parcelCount: int(row, 'parcel_count'), barcodes: parseStrings(text(row, 'barcodes')),
        minimumAge: intOrNull(row, 'minimum_age'), idCheck: int(row, 'id_check') === 1,
        failureReason: FailureReason.nullable().catch(null).parse(textOrNull(row, 'failure_reason')),
      };
      if (!hidden.has('customerName')) stop.customerName = text(row, 'customer_name');
      if (!hidden.has('address')) stop.address = text(row, 'address');
      if (!hidden.has('phone')) stop.phone = textOrNull(row, 'phone');
      if (!hidden.has('notes')) stop.notes = text(row, 'notes');
      if (!hidden.has('coordinates')) {
        const lat = numOrNull(row, 'latitude');
        const lng = numOrNull(row, 'longitude');
        stop.coordinates = lat !== null && lng !== null ? { lat, lng } : null;
      }
      if (!hidden.has('email')) stop.email = textOrNull(row, 'email');
      if (!hidden.has('failureNote')) stop.failureNote = textOrNull(row, 'failure_note');
      if (!hidden.has('paymentRef')) stop.paymentRef = textOrNull(row, 'payment_ref');
      if (!hidden.has('codAmount')) stop.codAmount = intOrNull(row, 'cod_amount');
      if (!hidden.has('deliveryFee')) stop.deliveryFee = intOrNull(row, 'delivery_fee');
      if (!hidden.has('currency')) stop.currency = textOrNull(row, 'currency');
      const withheld = parseWithheld(text(row, 'hidden_fields'));
      if (withheld.length > 0) stop.withheld = withheld;
      const pinRequired = intOrNull(row, 'pin_required');
      if (pinRequired !== null) stop.pinRequired = pinRequired === 1;
      const handover = parseHandover(textOrNull(row, 'handover'));
      if (handover) stop.handover = handover;
      if (row['pseudonymised'] === 1) stop.pseudonymised = true;
      if (row['held'] === 1) stop.held = true;
      return stop;
    },
  },
  driver: {
    table: 'drivers',
    idColumn: 'id',
    idOf: (d) => d.id,
    toColumns: (d) => ({ id: d.id, location_id: d.locationId, name: d.name, user_id: d.userId, retired_at: d.retiredAt ?? null }),
    fromRow: (row) => ({
      id: text(row, 'id'), locationId: text(row, 'location_id'), name: text(row, 'name'), userId: textOrNull(row, 'user_id'),
      retiredAt: intOrNull(row, 'retired_at'),
    }),
  },
  vehicle: {
    table: 'vehicles',
    idColumn: 'id',
    idOf: (v) => v.id,
    toColumns: (v) => ({ id: v.id, location_id: v.locationId, label: v.label, plate: v.plate, retired_at: v.retiredAt ?? null }),
    fromRow: (row) => ({
      id: text(row, 'id'), locationId: text(row, 'location_id'), label: text(row, 'label'), plate: text(row, 'plate'),
      retiredAt: intOrNull(row, 'retired_at'),
    }),
  },
  position: {
    table: 'positions',
    idColumn: 'driver_id',
    idOf: (p) => p.driverId,
    toColumns: (p) => ({
      driver_id: p.driverId, location_id: p.locationId, lat: p.lat, lng: p.lng, heading_deg: p.headingDeg,
      speed_kmh: p.speedKmh, recorded_at: p.recordedAt, version: p.version,
    }),
    fromRow: (row) => ({
      driverId: text(row, 'driver_id'), locationId: text(row, 'location_id'), lat: num(row, 'lat'), lng: num(row, 'lng'),
      headingDeg: numOrNull(row, 'heading_deg'), speedKmh: numOrNull(row, 'speed_kmh'), recordedAt: int(row, 'recorded_at'),
      version: int(row, 'version'),
    }),
  },
};

/**
 * The version the store guards on. Routes, stops and positions carry their location version;
 * drivers and vehicles do not, so the change's version is stored in the row alongside.
 */
export async function storedVersion(conn: SqlConnection, kind: EntityKind, id: string): Promise<number | null> {
  const t = tables[kind];
  const row = await conn.get(`SELECT version FROM ${t.table} WHERE ${t.idColumn} = ?`, [id]);
  return row ? int(row, 'version') : null;
}

export async function readEntity<K extends EntityKind>(conn: SqlConnection, kind: K, id: string): Promise<EntityByKind[K] | null> {
  const t = tables[kind];
  const row = await conn.get(`SELECT * FROM ${t.table} WHERE ${t.idColumn} = ?`, [id]);
  return row ? t.fromRow(row) : null;
}

export async function writeEntity<K extends EntityKind>(conn: SqlConnection, kind: K, entity: EntityByKind[K], version: number): Promise<void> {
  const t = tables[kind];
  const cols = { ...t.toColumns(entity), version };
  const names = Object.keys(cols);
  const updates = names.filter((n) => n !== t.idColumn).map((n) => `${n} = excluded.${n}`).join(', ');
  await conn.run(
    `INSERT INTO ${t.table} (${names.join(', ')}) VALUES (${names.map(() => '?').join(', ')})
     ON CONFLICT(${t.idColumn}) DO UPDATE SET ${updates}`,
    Object.values(cols),
  );
}

export async function deleteEntity(conn: SqlConnection, kind: EntityKind, id: string): Promise<number> {
  const t = tables[kind];
  return (await conn.run(`DELETE FROM ${t.table} WHERE ${t.idColumn} = ?`, [id])).changes;
}

export async function listEntities<K extends EntityKind>(conn: SqlConnection, kind: K, where: string, params: SqlValue[], orderBy: string): Promise<EntityByKind[K][]> {
  const t = tables[kind];
  const rows = await conn.all(`SELECT * FROM ${t.table} WHERE ${where} ORDER BY ${orderBy}`, params);
  return rows.map((r) => t.fromRow(r));
}

function parseWithheld(json: string): EncryptedStopField[] {
  const parsed: unknown = JSON.parse(json);
  if (!Array.isArray(parsed)) return [];
  return parsed.flatMap((f) => (typeof f === 'string' && f.startsWith('withheld:') && (encryptedStopFields as readonly string[]).includes(f.slice(9)) ? [f.slice(9) as EncryptedStopField] : []));
}

/** What was done at the door, or nothing when unknown or not in the expected shape. */
function parseHandover(json: string | null): StopHandover | null {
  if (json === null) return null;
  try {
    const parsed = StopHandover.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

function parseStrings(json: string): string[] {
  const parsed: unknown = JSON.parse(json);
  return Array.isArray(parsed) ? parsed.filter((b): b is string => typeof b === 'string') : [];
}

function parseHidden(json: string): RedactableStopField[] {
  const parsed: unknown = JSON.parse(json);
  if (!Array.isArray(parsed)) return [];
  return parsed.filter((f): f is RedactableStopField => typeof f === 'string' && (redactable as readonly string[]).includes(f));
}

// Column readers: the schema is STRICT, so a type mismatch here means a bug, not bad data.
export function text(row: SqlRow, col: string): string {
  const v = row[col];
  if (typeof v !== 'string') throw new TypeError(`column ${col}: expected text`);
  return v;
}
export function textOrNull(row: SqlRow, col: string): string | null {
  const v = row[col];
  return v === null || v === undefined ? null : text(row, col);
}
export function num(row: SqlRow, col: string): number {
  const v = row[col];
  if (typeof v !== 'number') throw new TypeError(`column ${col}: expected a number`);
  return v;
}
export function numOrNull(row: SqlRow, col: string): number | null {
  const v = row[col];
  return v === null || v === undefined ? null : num(row, col);
}
export function int(row: SqlRow, col: string): number {
  const v = num(row, col);
  if (!Number.isInteger(v)) throw new TypeError(`column ${col}: expected an integer`);
  return v;
}
export function intOrNull(row: SqlRow, col: string): number | null {
  const v = row[col];
  return v === null || v === undefined ? null : int(row, col);
}
