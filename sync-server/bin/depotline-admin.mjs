#!/usr/bin/env node
// The installed `depotline-admin` command: runs the TypeScript CLI through tsx, the same
// loader `npm run server` uses, so there is no separate build step to forget.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
