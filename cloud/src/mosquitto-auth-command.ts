/**
 * `michi-ingest-worker --mosquitto-auth DIR`: writes Mosquitto's password file, ACL file and
 * no-drop settings (worker-broker-auth.ts) for the seeds' gateways and the worker's own login into
 * DIR. Returns what to tell the operator rather than printing it, so that the entry point owns the
 * console.
 */
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError, loadSeeds } from '@michi/proto';
import type { CloudConfig } from './config.js';
import { mosquittoAuthFiles, mosquittoNoDropSettings } from './worker-broker-auth.js';
import { workerPassword } from './worker-service.js';

export interface CommandOutput {
  stdout: string[];
  stderr: string[];
}

/** uid and gid of a local user, from /etc/passwd (no dependency on a native module). */
function localUser(name: string): { uid: number; gid: number } | undefined {
  let passwd: string;
  try {
    passwd = readFileSync('/etc/passwd', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of passwd.split('\n')) {
    const [user, , uid, gid] = line.split(':');
    if (user === name && uid !== undefined && gid !== undefined) return { uid: Number(uid), gid: Number(gid) };
  }
  return undefined;
}

export function writeMosquittoAuth(config: CloudConfig, dir: string, brokerUser: string): CommandOutput {
  const out: CommandOutput = { stdout: [], stderr: [] };
  const password = workerPassword(config);
  if (password === undefined) throw new ConfigError('--mosquitto-auth needs worker.passwordEnv: the worker logs in to the broker too');
  const files = mosquittoAuthFiles(loadSeeds(config.seedsDir), config.resolveSecret, { username: config.worker.username, password });
  mkdirSync(dir, { recursive: true });
  const passwordFile = resolve(join(dir, 'passwd'));
  const aclFile = resolve(join(dir, 'acl'));
  writeFileSync(passwordFile, files.passwords, { mode: 0o600 });
  chmodSync(passwordFile, 0o600);
  writeFileSync(aclFile, files.acl, { mode: 0o600 });
  chmodSync(aclFile, 0o600);
  writeFileSync(join(dir, 'michi.conf'), mosquittoNoDropSettings({ passwordFile, aclFile }));
  // Started as root, Mosquitto drops to its own user before it reads the password and ACL files:
  // root-owned 0600 files would lock every gateway out.
  if (process.getuid?.() === 0) {
    const owner = localUser(brokerUser);
    if (owner === undefined) {
      out.stderr.push(
        `no local user "${brokerUser}"; the files stay root's. Give them to the user Mosquitto runs as (--mosquitto-user NAME)`,
      );
    } else {
      for (const file of [passwordFile, aclFile]) chownSync(file, owner.uid, owner.gid);
    }
  }
  for (const gw of files.missing) out.stderr.push(`gateway ${gw} has no secret in the environment; left out`);
  out.stdout.push(`wrote ${passwordFile}, ${aclFile} and ${join(dir, 'michi.conf')}`);
  return out;
}
