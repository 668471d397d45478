/**
 * Per-device credentials of a gateway's local ingest (docs/edge.md, "Provisioning a device"). Each
 * gateway holds one secret, its device key; a device's password is HMAC-SHA256(device key, device
 * id), base64url. So every device has its own password, a device that leaks its password cannot
 * speak as another one (HMAC is a PRF: one output tells nothing of another), and a gateway checks a
 * password without a per-device database. The edge checks, the simulator and the provisioning CLI
 * derive: this is the one place that says how.
 */
import { createHmac } from 'node:crypto';
import { ConfigError } from './errors.js';
import { isValidSegment } from './topics.js';

/** A device key shorter than this is refused: 24 random bytes in base64url are 32 characters. */
const MIN_DEVICE_KEY_LENGTH = 32;

/** Throws ConfigError unless `key` can serve as a device key; `what` names where it came from. */
export function checkDeviceKey(key: string, what: string): void {
  if (key.length < MIN_DEVICE_KEY_LENGTH) {
    throw new ConfigError(
      `${what}: expected a device key of at least ${MIN_DEVICE_KEY_LENGTH} characters (e.g. openssl rand -base64 32), got ${key.length}`,
    );
  }
}

/** The password of `deviceId` under the gateway's `deviceKey`: 43 characters of base64url. */
export function devicePassword(deviceKey: string, deviceId: string): string {
  if (!isValidSegment(deviceId)) {
    throw new ConfigError(`expected a device id of 1 to 64 letters, digits, "_" or "-", got ${JSON.stringify(deviceId)}`);
  }
  return createHmac('sha256', deviceKey).update(deviceId, 'utf8').digest('base64url');
}
