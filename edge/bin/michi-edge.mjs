#!/usr/bin/env node
// A committed launcher, so npm links the command at install time, before dist/ is built.
import { access } from 'node:fs/promises';

const target = new URL('../dist/main.js', import.meta.url);
try {
  await access(target);
} catch {
  process.stderr.write('michi-edge: not built yet. Run `make build` (or `make run`) in the michi checkout first.\n');
  process.exit(2);
}
await import(target.href);
