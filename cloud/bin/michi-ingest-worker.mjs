#!/usr/bin/env node
// A committed launcher, so npm links the command at install time, before dist/ is built.
import { runBuilt } from '@michi/proto/run-built';

await runBuilt('michi-ingest-worker', new URL('../dist/worker-main.js', import.meta.url));
