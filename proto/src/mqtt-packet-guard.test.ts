import { describe, expect, it } from 'vitest';
import { AddressLimiter, clientIdBelongsTo, PacketSizeGuard } from './mqtt-packet-guard.js';
import { varint } from './wire-framing.js';

/** The fixed header of a packet of type byte `type` declaring a body of `n` bytes. */
function header(type: number, n: number): Buffer {
  return Buffer.concat([Buffer.from([type]), varint(n)]);
}

/** A packet of type byte `type` with a body of `n` bytes. */
function packet(type: number, n: number): Buffer {
  return Buffer.concat([header(type, n), Buffer.alloc(n)]);
}

describe('PacketSizeGuard before login', () => {
  it('stops a CONNECT header declaring 250 MiB, whatever the chunking', () => {
    const head = header(0x10, 250 * 1024 * 1024);
    for (let cut = 0; cut <= head.length; cut++) {
      const g = new PacketSizeGuard(4 * 1024 * 1024, { preAuthBytes: 4096 });
      const first = g.feed(head.subarray(0, cut));
      const second = first === 0 ? g.feed(head.subarray(cut)) : first;
      expect(second).toBe(250 * 1024 * 1024);
      expect(g.violation).toBe('connect_too_large');
    }
  });

  it('counts the whole stream before login: many small packets add up', () => {
    const g = new PacketSizeGuard(1024 * 1024, { preAuthBytes: 4096 });
    expect(g.feed(packet(0x10, 300))).toBe(0);
    let stopped = 0;
    for (let i = 0; i < 20 && stopped === 0; i++) stopped = g.feed(packet(0x30, 300));
    expect(stopped).toBe(300);
    expect(g.violation).toBe('connect_too_large');
  });

  it('after markAuthenticated only the packet limit applies', () => {
    const g = new PacketSizeGuard(64 * 1024, { preAuthBytes: 4096 });
    expect(g.feed(packet(0x10, 300))).toBe(0);
    g.markAuthenticated();
    expect(g.feed(packet(0x32, 60 * 1024))).toBe(0);
    expect(g.feed(header(0x32, 65 * 1024))).toBe(65 * 1024);
    expect(g.violation).toBe('packet_too_large');
  });
});

describe('clientIdBelongsTo', () => {
  it.each([
    ['edge-gw-a', 'edge-gw-a', true],
    ['edge-gw-a.1', 'edge-gw-a', true],
    ['edge-gw-a.sim.2', 'edge-gw-a', true],
    ['edge-gw-ab', 'edge-gw-a', false],
    ['edge-gw-a-2', 'edge-gw-a', false],
    ['edge-gw-a.', 'edge-gw-a', false],
    ['edge-gw-a.x y', 'edge-gw-a', false],
    ['bus-01', 'bus-02', false],
    ['', 'bus-01', false],
  ])('%s for %s: %s', (id, owner, ok) => expect(clientIdBelongsTo(id, owner)).toBe(ok));
});

describe('AddressLimiter', () => {
  it('refuses beyond the cap per address and frees a slot on close', () => {
    const l = new AddressLimiter(2);
    expect([l.open('a'), l.open('a'), l.open('a'), l.open('b')]).toEqual([true, true, false, true]);
    l.close('a');
    expect(l.open('a')).toBe(true);
    expect(l.count('a')).toBe(2);
  });
});
