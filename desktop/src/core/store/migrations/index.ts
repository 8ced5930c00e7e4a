import { migration0001 } from './0001-initial';
import { migration0002 } from './0002-board-index';
import { migration0003 } from './0003-orders';
import { migration0004 } from './0004-planning-local';
import { migration0005 } from './0005-fleet-retired';
import { migration0006 } from './0006-delivery-checks';
import { migration0007 } from './0007-proof-cache';
import { migration0008 } from './0008-retention';
import { migration0009 } from './0009-held-stops';
import type { Migration } from './migration';

/** Every schema step, oldest first. Append only: a shipped migration never changes. */
export const migrations: readonly Migration[] = [migration0001, migration0002, migration0003, migration0004, migration0005, migration0006, migration0007, migration0008, migration0009];

export const latestSchemaVersion = migrations[migrations.length - 1]?.version ?? 0;
