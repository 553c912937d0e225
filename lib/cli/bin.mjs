#!/usr/bin/env node
// The `wecom-zone-tasks` executable (package.json "bin"): the TypeScript CLI through tsx's loader,
// in this process. tsx is a devDependency, so this runs in a checkout after `npm ci`.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
