// What each package's committed launcher (bin/*.mjs) does: npm links a command at install time,
// before dist/ is built, so the launcher runs the built entry point, or says how to build it.
import { access } from 'node:fs/promises';

/** Imports `entry` (a URL of dist/), or exits 2 with a message naming `command` if it is not built. */
export async function runBuilt(command, entry) {
  try {
    await access(entry);
  } catch {
    process.stderr.write(`${command}: not built yet. Run \`make build\` (or \`make run\`) in the michi checkout first.\n`);
    process.exit(2);
  }
  await import(entry.href);
}
