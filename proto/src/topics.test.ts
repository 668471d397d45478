import { describe, expect, it } from 'vitest';
import { batchTopic, parseTopic, readingTopic } from './topics.js';

describe('topics', () => {
  it('builds and parses reading and batch topics', () => {
    const t = readingTopic('maebashi-bus', 'gw-1', 'bus-01', 'state');
    expect(t).toBe('michi/v1/maebashi-bus/gw-1/bus-01/state');
    expect(parseTopic(t)).toEqual({ type: 'reading', pilot: 'maebashi-bus', gateway: 'gw-1', source: 'bus-01', kind: 'state' });
    expect(parseTopic(batchTopic('maebashi-bus', 'gw-1'))).toEqual({ type: 'batch', pilot: 'maebashi-bus', gateway: 'gw-1' });
  });

  it.each([
    ['other/v1/p/g/s/state', /expected a topic under michi\/v1\//],
    ['michi/v1/p/g/s/telemetry', /kind: expected one of state, link, sensor, event/],
    ['michi/v1/p/g/+/state', /source: expected 1-64 characters/],
    ['michi/v1/p/#', /gateway: expected 1-64 characters/],
    ['michi/v1/p/g/s/state/extra', /expected michi\/v1\/\{pilot\}/],
  ])('rejects %s', (topic, message) => {
    expect(() => parseTopic(topic)).toThrow(message);
  });

  it('refuses to build a topic from a segment that could act as a wildcard', () => {
    expect(() => readingTopic('p', 'g', 'bus/#', 'state')).toThrow(/source: expected/);
    expect(() => batchTopic('p+', 'g')).toThrow(/pilot: expected/);
  });
});
