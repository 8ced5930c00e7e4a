import type { Migration } from './migration';

/**
 * The first schema. STRICT tables so a wrong type is an error, not a silent coercion.
 * Everything that belongs to a location cascades from `locations`, so dropping a location is
 * one DELETE and cannot miss a table added later, as long as it declares the foreign key.
 */
export const migration0001: Migration = {
  version: 1,
  name: 'initial',
  async up(conn) {
    await conn.exec(`
      CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT;

      -- What the server sent in sync:locations: the locations this user may see, with the
      -- permissions the console uses to hide what the user cannot do.
      CREATE TABLE locations (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        timezone TEXT NOT NULL,
        permissions TEXT NOT NULL,
        roles TEXT NOT NULL,
        expires_at INTEGER
      ) STRICT;

      CREATE TABLE sync_cursors (
        location_id TEXT PRIMARY KEY REFERENCES locations(id) ON DELETE CASCADE,
        cursor INTEGER NOT NULL CHECK (cursor >= 0),
        synced_at INTEGER
      ) STRICT;

      -- Entity tables: version is the location version of the last server change applied.
      -- A row with pending local edits shows them on top (see confirmed below).
      CREATE TABLE routes (
        id TEXT PRIMARY KEY,
        location_id TEXT NOT NULL REFERENCES locations(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        date TEXT NOT NULL,
        driver_id TEXT,
        vehicle_id TEXT,
        version INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        updated_by TEXT
      ) STRICT;
      CREATE INDEX routes_by_location_date ON routes(location_id, date);

      -- No foreign key to routes: a stop may arrive before its route in a page, and a missing
      -- route must not wedge the sync. Stops of a removed route are deleted explicitly.
      CREATE TABLE stops (
        id TEXT PRIMARY KEY,
        location_id TEXT NOT NULL REFERENCES locations(id) ON DELETE CASCADE,
        route_id TEXT NOT NULL,
        sequence INTEGER NOT NULL,
        customer_name TEXT,
        address TEXT,
        phone TEXT,
        notes TEXT,
        -- JSON array of fields the server withheld from this user; tells "no phone" (NULL)
        -- apart from "not allowed to see the phone".
        hidden_fields TEXT NOT NULL DEFAULT '[]',
        window_start INTEGER NOT NULL,
        window_end INTEGER NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('planned', 'en_route', 'arrived', 'delivered', 'failed', 'cancelled')),
        eta INTEGER,
        version INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        updated_by TEXT
      ) STRICT;
      CREATE INDEX stops_by_route ON stops(route_id, sequence);
      CREATE INDEX stops_by_location ON stops(location_id);

      CREATE TABLE drivers (
        id TEXT PRIMARY KEY,
        location_id TEXT NOT NULL REFERENCES locations(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        user_id TEXT,
        version INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE vehicles (
        id TEXT PRIMARY KEY,
        location_id TEXT NOT NULL REFERENCES locations(id) ON DELETE CASCADE,
        label TEXT NOT NULL,
        plate TEXT NOT NULL,
        version INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE positions (
        driver_id TEXT PRIMARY KEY,
        location_id TEXT NOT NULL REFERENCES locations(id) ON DELETE CASCADE,
        lat REAL NOT NULL,
        lng REAL NOT NULL,
        heading_deg REAL,
        speed_kmh REAL,
        recorded_at INTEGER NOT NULL,
        version INTEGER NOT NULL
      ) STRICT;

      -- Removals, so that an older change arriving late cannot bring a removed entity back.
      CREATE TABLE tombstones (
        kind TEXT NOT NULL,
        id TEXT NOT NULL,
        location_id TEXT NOT NULL REFERENCES locations(id) ON DELETE CASCADE,
        version INTEGER NOT NULL,
        PRIMARY KEY (kind, id)
      ) STRICT;

      -- Pending local edits, in the order they were made. AUTOINCREMENT: a sequence number is
      -- never reused, so the order holds across deletes and crashes.
      CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        location_id TEXT NOT NULL REFERENCES locations(id) ON DELETE CASCADE,
        target_kind TEXT NOT NULL,
        target_id TEXT NOT NULL,
        mutation TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_attempt_at INTEGER,
        created_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX outbox_by_target ON outbox(target_kind, target_id);

      -- The last server state of an entity that has pending edits (data NULL: the server has
      -- no such entity yet). The visible row is this plus the pending edits replayed, so a
      -- rejected edit rolls back exactly, and a server change under a pending edit keeps it.
      CREATE TABLE confirmed (
        kind TEXT NOT NULL,
        id TEXT NOT NULL,
        location_id TEXT NOT NULL REFERENCES locations(id) ON DELETE CASCADE,
        version INTEGER NOT NULL,
        data TEXT,
        PRIMARY KEY (kind, id)
      ) STRICT;

      -- Edits the server refused, kept until the user has seen them.
      CREATE TABLE rejected_mutations (
        id TEXT PRIMARY KEY,
        location_id TEXT NOT NULL REFERENCES locations(id) ON DELETE CASCADE,
        mutation TEXT NOT NULL,
        code TEXT NOT NULL,
        reason TEXT NOT NULL,
        current TEXT,
        rejected_at INTEGER NOT NULL
      ) STRICT;
    `);
  },
};
