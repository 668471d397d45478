/**
 * Who may publish to this gateway's local ingest: a device of this gateway (pilot definition) that
 * presents its id and its password, HMAC-SHA256(device key, id) (@michi/proto devicePassword), and
 * is not in local.revokedDevices. One check for MQTT (CONNECT username/password) and gRPC (stream
 * metadata). Each refusal is counted under its reason and logged, never with the password; a device
 * that keeps retrying with a bad password gets one log line per reason per interval.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import { devicePassword } from '@michi/proto';
import { AUTH_REFUSAL_CODES, type AuthRefusal } from './errors.js';
import type { EdgeMetrics } from './metrics.js';

export interface DeviceAuthOptions {
  /** The gateway's device key (config.deviceKey). */
  deviceKey: string;
  /** This gateway's vehicles and sensors. */
  devices: Iterable<string>;
  revoked?: Iterable<string>;
  metrics: EdgeMetrics;
  logger: Logger;
}

/** Where a connection attempt came from, for the log line. */
export interface AuthAttempt {
  transport: 'mqtt' | 'grpc';
  /** MQTT client id or gRPC peer address. */
  peer: string | undefined;
}

/** A refused client gets one log line per transport, reason and device per this interval. */
const REFUSAL_LOG_INTERVAL_MS = 10_000;
/** Unknown usernames are attacker-chosen: logged cut to this length. */
const MAX_LOGGED_USERNAME = 64;

export class DeviceAuthenticator {
  /** Each device's expected password, derived once: a check is then one constant-time compare. */
  private readonly passwords = new Map<string, Buffer>();
  private readonly revoked: ReadonlySet<string>;
  private readonly refusalLog = new Map<string, { at: number; suppressed: number }>();

  constructor(private readonly opts: DeviceAuthOptions) {
    for (const id of opts.devices) this.passwords.set(id, Buffer.from(devicePassword(opts.deviceKey, id)));
    this.revoked = new Set(opts.revoked ?? []);
    const strangers = [...this.revoked].filter((id) => !this.passwords.has(id));
    if (strangers.length > 0) {
      opts.logger.warn({ devices: strangers }, 'local.revokedDevices names devices this gateway does not have (refused anyway)');
    }
  }

  /** Null when `username` may connect with `password`; else the refusal, already counted and logged. */
  check(username: string | undefined, password: Buffer | string | undefined, attempt: AuthAttempt): AuthRefusal | null {
    const refusal = this.verify(username, password);
    if (refusal) this.refuse(refusal, username, attempt);
    return refusal;
  }

  private verify(username: string | undefined, password: Buffer | string | undefined): AuthRefusal | null {
    if (!username || password === undefined || password.length === 0) return 'no_credentials';
    const expected = this.passwords.get(username);
    if (!expected) return 'unknown_username';
    const given = typeof password === 'string' ? Buffer.from(password) : password;
    // The length of a password is public (43 characters for every device); its bytes are not.
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'bad_password';
    // Only after the password: whether a device is revoked is told to no one who lacks its password.
    return this.revoked.has(username) ? 'revoked' : null;
  }

  private refuse(reason: AuthRefusal, username: string | undefined, attempt: AuthAttempt): void {
    this.opts.metrics.connectionsRefused.inc({ reason });
    // Keyed by known devices only, so that made-up usernames cannot grow this map.
    const device = username !== undefined && this.passwords.has(username) ? username : undefined;
    const key = `${attempt.transport}|${reason}|${device ?? '-'}`;
    const now = Date.now();
    const entry = this.refusalLog.get(key);
    if (entry && now - entry.at < REFUSAL_LOG_INTERVAL_MS) {
      entry.suppressed++;
      return;
    }
    this.refusalLog.set(key, { at: now, suppressed: 0 });
    this.opts.logger.warn(
      {
        code: AUTH_REFUSAL_CODES[reason],
        reason,
        transport: attempt.transport,
        peer: attempt.peer,
        username: username?.slice(0, MAX_LOGGED_USERNAME),
        suppressed: entry?.suppressed ?? 0,
      },
      `local connection refused: ${REFUSAL_MESSAGES[reason]}`,
    );
  }
}

export const REFUSAL_MESSAGES: Readonly<Record<AuthRefusal, string>> = {
  no_credentials: 'a device must give its id as username and its password',
  unknown_username: 'the username is not a device of this gateway',
  bad_password: "the password is not the device's (derived from this gateway's device key)",
  revoked: 'the device is in local.revokedDevices',
};
