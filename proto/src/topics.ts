/**
 * MQTT topic names (MQTT 3.1.1). Readings: michi/v1/{pilot}/{gateway}/{source}/{kind};
 * upstream batches: michi/v1/{pilot}/{gateway}/batch. Every segment is an id of at most 64
 * characters from [A-Za-z0-9_-], so no segment can smuggle a wildcard or a level separator.
 */
import { ErrorCodes, PayloadError } from './errors.js';

export const TOPIC_ROOT = 'michi/v1';
export const READING_KINDS = ['state', 'link', 'sensor', 'event'] as const;
export type ReadingKind = (typeof READING_KINDS)[number];

const SEGMENT = /^[A-Za-z0-9_-]{1,64}$/;

export function isValidSegment(s: string): boolean {
  return SEGMENT.test(s);
}

export function isReadingKind(s: string): s is ReadingKind {
  return (READING_KINDS as readonly string[]).includes(s);
}

function checkSegment(name: string, value: string): string {
  if (!SEGMENT.test(value)) {
    throw new PayloadError(ErrorCodes.BAD_TOPIC, `expected 1-64 characters of A-Z a-z 0-9 _ -, got ${JSON.stringify(value)}`, name);
  }
  return value;
}

export function readingTopic(pilot: string, gateway: string, source: string, kind: ReadingKind): string {
  return `${TOPIC_ROOT}/${checkSegment('pilot', pilot)}/${checkSegment('gateway', gateway)}/${checkSegment('source', source)}/${kind}`;
}

export function batchTopic(pilot: string, gateway: string): string {
  return `${TOPIC_ROOT}/${checkSegment('pilot', pilot)}/${checkSegment('gateway', gateway)}/batch`;
}

/** What an ingest subscribes to: every batch of every gateway (or of one pilot). */
export function batchFilter(pilot = '+'): string {
  return `${TOPIC_ROOT}/${pilot}/+/batch`;
}

/** What a gateway's local broker takes from its vehicles. */
export function readingFilter(pilot: string, gateway: string): string {
  return `${TOPIC_ROOT}/${pilot}/${gateway}/+/+`;
}

export type ParsedTopic =
  | { type: 'reading'; pilot: string; gateway: string; source: string; kind: ReadingKind }
  | { type: 'batch'; pilot: string; gateway: string };

/** Parses a topic a client published to; throws PayloadError(MICHI_ERR_BAD_TOPIC) with the reason. */
export function parseTopic(topic: string): ParsedTopic {
  const parts = topic.split('/');
  if (parts[0] !== 'michi' || parts[1] !== 'v1') {
    throw new PayloadError(ErrorCodes.BAD_TOPIC, `expected a topic under ${TOPIC_ROOT}/, got ${JSON.stringify(topic)}`, 'topic');
  }
  const [, , pilot = '', gateway = '', third = '', fourth] = parts;
  checkSegment('pilot', pilot);
  checkSegment('gateway', gateway);
  if (parts.length === 5 && third === 'batch') return { type: 'batch', pilot, gateway };
  if (parts.length === 6 && fourth !== undefined) {
    checkSegment('source', third);
    if (!isReadingKind(fourth)) {
      throw new PayloadError(ErrorCodes.BAD_TOPIC, `expected one of ${READING_KINDS.join(', ')}, got ${JSON.stringify(fourth)}`, 'kind');
    }
    return { type: 'reading', pilot, gateway, source: third, kind: fourth };
  }
  throw new PayloadError(
    ErrorCodes.BAD_TOPIC,
    `expected ${TOPIC_ROOT}/{pilot}/{gateway}/{source}/{kind} or ${TOPIC_ROOT}/{pilot}/{gateway}/batch, got ${JSON.stringify(topic)}`,
    'topic',
  );
}
