/**
 * The slice of PouchDB 9 and express-pouchdb 4 the catch-up baseline uses (neither ships
 * types; @types/pouchdb describes older majors).
 */
declare module 'pouchdb' {
  export interface PouchInfo {
    doc_count: number;
    update_seq: number | string;
  }
  export interface ReplicationResult {
    ok: boolean;
    docs_read: number;
    docs_written: number;
  }
  export interface PouchDatabase {
    info(): Promise<PouchInfo>;
    bulkDocs(docs: readonly object[]): Promise<unknown[]>;
    close(): Promise<void>;
    replicate: {
      from(source: PouchDatabase | string, options?: { batch_size?: number; batches_limit?: number }): Promise<ReplicationResult>;
    };
  }
  export interface PouchConstructor {
    new (name: string, options?: Record<string, unknown>): PouchDatabase;
    defaults(options: Record<string, unknown>): PouchConstructor;
  }
  const PouchDB: PouchConstructor;
  export default PouchDB;
}

declare module 'express-pouchdb' {
  import type { RequestListener } from 'node:http';
  import type { PouchConstructor } from 'pouchdb';
  export default function expressPouchdb(
    pouch: PouchConstructor,
    options?: { mode?: 'fullCouchDB' | 'minimumForPouchDB' | 'custom'; inMemoryConfig?: boolean; logPath?: string },
  ): RequestListener;
}
