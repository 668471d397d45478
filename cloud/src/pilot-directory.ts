/**
 * What the cloud knows from the pilot definitions, indexed for ingest and the API: pilots by id,
 * gateways by id (with a digest of their secret, resolved once at start-up), and which vehicles
 * and sensors exist. Gateway secrets are kept only as SHA-256 digests and compared in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import { ConfigError, batchTopic, type Pilot } from '@michi/proto';
import type { SecretResolver } from './config.js';

export interface GatewayIdentity {
  readonly pilot: string;
  readonly gateway: string;
  /** The one topic this gateway may publish to: michi/v1/{pilot}/{gateway}/batch. */
  readonly topic: string;
}

interface GatewayEntry extends GatewayIdentity {
  readonly credentialsRef: string;
  readonly secretDigest: Buffer | undefined;
}

export type SourceType = 'vehicle' | 'sensor';

/** A vehicle or sensor, with the gateways allowed to send its readings: its own and its relays. */
export interface SourceEntry {
  readonly type: SourceType;
  readonly gateways: ReadonlySet<string>;
}

/** The declared names of a pilot's signals, counts and measures (seed `fieldNames`). */
export interface FieldNameSets {
  readonly signals: ReadonlySet<string>;
  readonly counts: ReadonlySet<string>;
  readonly measures: ReadonlySet<string>;
}

export type LoginResult =
  | { ok: true; identity: GatewayIdentity }
  | { ok: false; reason: 'unknown_gateway' | 'no_secret_configured' | 'bad_password' | 'missing_credentials' };

function digest(secret: string | Buffer): Buffer {
  return createHash('sha256').update(secret).digest();
}

export class PilotDirectory {
  readonly pilots: readonly Pilot[];
  private readonly pilotById = new Map<string, Pilot>();
  private readonly gateways = new Map<string, GatewayEntry>();
  private readonly sources = new Map<string, Map<string, SourceEntry>>();
  private readonly fieldNameSets = new Map<string, FieldNameSets>();

  /**
   * Throws ConfigError when two pilots use the same gateway id: the MQTT username is the gateway id,
   * so it must name one gateway of one pilot.
   */
  constructor(pilots: readonly Pilot[], resolveSecret: SecretResolver, log?: Logger) {
    this.pilots = pilots;
    for (const pilot of pilots) {
      this.pilotById.set(pilot.id, pilot);
      const sources = new Map<string, SourceEntry>();
      const entry = (type: SourceType, src: { gatewayId: string; relayGatewayIds?: string[] | undefined }): SourceEntry => ({
        type,
        gateways: new Set([src.gatewayId, ...(src.relayGatewayIds ?? [])]),
      });
      for (const v of pilot.vehicles) sources.set(v.id, entry('vehicle', v));
      for (const s of pilot.sensors) sources.set(s.id, entry('sensor', s));
      this.sources.set(pilot.id, sources);
      this.fieldNameSets.set(pilot.id, {
        signals: new Set(pilot.fieldNames.signals),
        counts: new Set(pilot.fieldNames.counts),
        measures: new Set(pilot.fieldNames.measures),
      });
      for (const gw of pilot.gateways) {
        const other = this.gateways.get(gw.id);
        if (other) {
          throw new ConfigError(
            `gateway id "${gw.id}" is used by pilots "${other.pilot}" and "${pilot.id}"; gateway ids must be unique across seeds, they are MQTT usernames`,
            {
              gateway: gw.id,
            },
          );
        }
        const secret = resolveSecret(gw.credentialsRef);
        if (secret === undefined) {
          // The reference, never a value: it says which variable or file an operator has to provide.
          log?.warn(
            { pilot: pilot.id, gateway: gw.id, credentialsRef: gw.credentialsRef },
            'gateway has no secret configured and cannot connect until one is set',
          );
        }
        this.gateways.set(gw.id, {
          pilot: pilot.id,
          gateway: gw.id,
          topic: batchTopic(pilot.id, gw.id),
          credentialsRef: gw.credentialsRef,
          secretDigest: secret === undefined ? undefined : digest(secret),
        });
      }
    }
  }

  pilot(id: string): Pilot | undefined {
    return this.pilotById.get(id);
  }

  /** Whether `source` is a vehicle or a sensor of `pilot`, or undefined when it is neither. */
  sourceType(pilot: string, source: string): SourceType | undefined {
    return this.sources.get(pilot)?.get(source)?.type;
  }

  /** A vehicle or sensor of `pilot` with the gateways that may send its readings, or undefined. */
  source(pilot: string, source: string): SourceEntry | undefined {
    return this.sources.get(pilot)?.get(source);
  }

  /** The signal, count and measure names `pilot` declares, or undefined for an unknown pilot. */
  fieldNames(pilot: string): FieldNameSets | undefined {
    return this.fieldNameSets.get(pilot);
  }

  /** The identity of a known gateway, for a credential checked elsewhere (a client certificate naming it). */
  gatewayIdentity(id: string): GatewayIdentity | undefined {
    const entry = this.gateways.get(id);
    return entry ? { pilot: entry.pilot, gateway: entry.gateway, topic: entry.topic } : undefined;
  }

  /** Checks an MQTT login: username = gateway id, password = the secret its credentialsRef names. */
  login(username: string | undefined, password: Buffer | string | undefined): LoginResult {
    if (!username || password === undefined) return { ok: false, reason: 'missing_credentials' };
    const entry = this.gateways.get(username);
    if (!entry) return { ok: false, reason: 'unknown_gateway' };
    if (!entry.secretDigest) return { ok: false, reason: 'no_secret_configured' };
    // Digests have equal lengths whatever the password's, so the comparison leaks neither.
    if (!timingSafeEqual(digest(password), entry.secretDigest)) return { ok: false, reason: 'bad_password' };
    return { ok: true, identity: { pilot: entry.pilot, gateway: entry.gateway, topic: entry.topic } };
  }
}
