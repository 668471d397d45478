/**
 * `michi-edge device-password --key-env NAME <device id>...`: prints each device's password, one a
 * line in argument order, for provisioning vehicles and sensors (docs/edge.md, "Provisioning a
 * device"). The key is read from the environment variable NAME, never from the command line, where
 * `ps` and shell history would show it.
 */
import { parseArgs } from 'node:util';
import { checkDeviceKey, devicePassword, isMichiError } from '@michi/proto';

const DEVICE_PASSWORD_USAGE = `usage: michi-edge device-password --key-env NAME DEVICE_ID...

  --key-env NAME   the environment variable holding the gateway's device key (as local.deviceKeyEnv)

Prints the password of each device, one a line: HMAC-SHA256(device key, device id), base64url.
A device connects with its id as username and this password.`;

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function devicePasswordCommand(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): CommandResult {
  const fail = (message: string, code = 2): CommandResult => ({ code, stdout: '', stderr: `michi-edge device-password: ${message}\n` });
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { 'key-env': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    return fail(`${(err as Error).message}\n\n${DEVICE_PASSWORD_USAGE}`);
  }
  if (parsed.values.help) return { code: 0, stdout: `${DEVICE_PASSWORD_USAGE}\n`, stderr: '' };
  const name = parsed.values['key-env'];
  if (!name) return fail(`--key-env: expected the name of the variable holding the device key\n\n${DEVICE_PASSWORD_USAGE}`);
  if (parsed.positionals.length === 0) return fail(`expected at least one device id, e.g. bus-01\n\n${DEVICE_PASSWORD_USAGE}`);
  const key = env[name];
  if (!key) return fail(`--key-env names ${name}, but that environment variable is not set or empty`);
  try {
    checkDeviceKey(key, name);
    return { code: 0, stdout: parsed.positionals.map((id) => `${devicePassword(key, id)}\n`).join(''), stderr: '' };
  } catch (err) {
    if (isMichiError(err)) return fail(err.message);
    throw err;
  }
}
