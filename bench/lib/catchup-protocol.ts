/** Messages between the catch-up section (servers) and its client process (desktop core / PouchDB). */

export type ToCatchupClient =
  | { kind: 'ours-prepare'; url: string; username: string; password: string; dir: string }
  | { kind: 'ours-catchup' }
  | { kind: 'pouch-prepare'; url: string; dir: string; batchSize: number }
  | { kind: 'pouch-catchup' }
  | { kind: 'close' };

export interface CatchupDone {
  ms: number;
  /** What the client holds afterwards, to check against the server. */
  stops: number;
  cursor: number;
}

export type FromCatchupClient =
  | { kind: 'ready'; stops: number; cursor: number; client: string; pageSize: number }
  | { kind: 'done'; result: CatchupDone }
  | { kind: 'closed' }
  | { kind: 'error'; message: string };
