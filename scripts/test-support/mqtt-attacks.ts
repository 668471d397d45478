// Raw-socket MQTT attacks for the brokers' security tests (edge/test/security-broker.test.ts,
// cloud/test/security-broker.test.ts): what a hostile client sends, byte for byte, without an MQTT
// library that would refuse to send it. Each helper reports what the attacker observes.
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { varint } from '@michi/proto';

/** The MQTT "remaining length" varint (MQTT 3.1.1 §2.2.3): protobuf's varint encoding. */
export function remainingLength(n: number): Buffer {
  return Buffer.from(varint(n));
}

function str(s: string | Buffer): Buffer {
  const b = typeof s === 'string' ? Buffer.from(s) : s;
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
}

export interface ConnectFields {
  clientId: string;
  username?: string;
  password?: string;
  keepaliveS?: number;
}

/** A complete MQTT 3.1.1 CONNECT packet (clean session). */
export function connectPacket(f: ConnectFields): Buffer {
  let flags = 0x02;
  if (f.username !== undefined) flags |= 0x80;
  if (f.password !== undefined) flags |= 0x40;
  const keepalive = Buffer.alloc(2);
  keepalive.writeUInt16BE(f.keepaliveS ?? 60);
  const body = Buffer.concat([
    str('MQTT'),
    Buffer.from([4, flags]),
    keepalive,
    str(f.clientId),
    ...(f.username !== undefined ? [str(f.username)] : []),
    ...(f.password !== undefined ? [str(f.password)] : []),
  ]);
  return Buffer.concat([Buffer.from([0x10]), remainingLength(body.length), body]);
}

export interface SocketTarget {
  port: number;
  host?: string;
  /** The source address (any 127.x.y.z on Linux loopback): a second attacker address. */
  localAddress?: string;
}

export function openSocket(t: SocketTarget): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port: t.port, host: t.host ?? '127.0.0.1', ...(t.localAddress ? { localAddress: t.localAddress } : {}) });
    s.once('connect', () => {
      s.off('error', reject);
      s.on('error', () => {});
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** Resolves with the milliseconds until the socket closed, or undefined if it is still open after timeoutMs. */
export function closedWithin(s: net.Socket, timeoutMs: number): Promise<number | undefined> {
  const started = performance.now();
  if (s.destroyed || s.readyState === 'closed') return Promise.resolve(0);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      s.off('close', onClose);
      resolve(undefined);
    }, timeoutMs);
    const onClose = () => {
      clearTimeout(timer);
      resolve(performance.now() - started);
    };
    s.once('close', onClose);
  });
}

export interface OversizedResult {
  /** Bytes the attacker managed to write before the broker closed the socket. */
  written: number;
  /** Milliseconds from the header to the close; undefined when the broker kept the socket open. */
  closedAfterMs: number | undefined;
}

/**
 * Finding 2/10: a client that never logged in sends a CONNECT header declaring `declaredBytes`,
 * then streams `sendBytes` of body. A guarded broker closes the socket after the header; an
 * unguarded one buffers everything sent. The socket is left open (for the caller to measure the
 * broker's memory while the data is held) unless the broker closed it.
 */
export async function oversizedConnect(
  t: SocketTarget,
  declaredBytes: number,
  sendBytes: number,
  waitMs = 2_000,
): Promise<OversizedResult & { socket: net.Socket }> {
  const s = await openSocket(t);
  const started = performance.now();
  let closedAt: number | undefined;
  s.once('close', () => (closedAt = performance.now()));
  s.write(Buffer.concat([Buffer.from([0x10]), remainingLength(declaredBytes)]));
  const chunk = Buffer.alloc(64 * 1024, 0x41);
  let written = 0;
  while (written < sendBytes && closedAt === undefined && !s.destroyed) {
    const ok = s.write(chunk);
    written += chunk.length;
    if (!ok) {
      await new Promise<void>((resolve) => {
        const done = () => {
          s.off('drain', done);
          s.off('close', done);
          resolve();
        };
        s.once('drain', done);
        s.once('close', done);
      });
    }
  }
  if (closedAt === undefined) await closedWithin(s, waitMs);
  return { socket: s, written, closedAfterMs: closedAt === undefined ? undefined : closedAt - started };
}

/**
 * Sends a CONNECT and resolves with the CONNACK return code, or 'closed' when the broker closed the
 * socket without a CONNACK. The socket is destroyed afterwards unless `keep` (then it is returned).
 */
export async function rawConnect(
  t: SocketTarget,
  f: ConnectFields,
  timeoutMs = 3_000,
): Promise<{ code: number | 'closed' | 'timeout'; socket: net.Socket }> {
  let s: net.Socket;
  try {
    s = await openSocket(t);
  } catch {
    return { code: 'closed', socket: new net.Socket() };
  }
  const code = await new Promise<number | 'closed' | 'timeout'>((resolve) => {
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => resolve('timeout'), timeoutMs);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 4 && buf[0] === 0x20) {
        clearTimeout(timer);
        resolve(buf[3]!);
      }
    });
    s.once('close', () => {
      clearTimeout(timer);
      resolve('closed');
    });
    s.write(connectPacket(f));
  });
  return { code, socket: s };
}

/**
 * Finding 11: `attempts` failed logins, one after the other, each with a user name of
 * `usernameBytes` characters and a wrong password. Resolves with each attempt's outcome.
 */
export async function failedLoginFlood(
  t: SocketTarget,
  attempts: number,
  usernameBytes: number,
): Promise<(number | 'closed' | 'timeout')[]> {
  const out: (number | 'closed' | 'timeout')[] = [];
  const username = 'u'.repeat(usernameBytes);
  for (let i = 0; i < attempts; i++) {
    const { code, socket } = await rawConnect(t, { clientId: `flood-${i}`, username, password: 'wrong' });
    socket.destroy();
    out.push(code);
  }
  return out;
}

/** Opens `n` idle sockets (no CONNECT) and resolves once all are connected. */
export function openIdleSockets(t: SocketTarget, n: number): Promise<net.Socket[]> {
  return Promise.all(Array.from({ length: n }, () => openSocket(t)));
}

/** A process's resident set size in bytes, from /proc/<pid>/status (VmRSS). */
export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}
