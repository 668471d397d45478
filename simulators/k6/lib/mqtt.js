// A minimal MQTT 3.1.1 client over k6's WebSocket (k6/websockets), for what a load test needs:
// CONNECT, PUBLISH at QoS 1, PUBACK, DISCONNECT (MQTT 3.1.1 §3; over WebSocket per §6: binary
// frames, which may split or join packets, so incoming bytes go through a small packet parser).
// No xk6 MQTT extension is reachable through the Go module proxy here (docs/simulator.md).

const CONNECT = 1;
const CONNACK = 2;
const PUBLISH = 3;
const PUBACK = 4;
const DISCONNECT = 14;

function utf8(s) {
  const out = [];
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) c = 0x10000 + ((c - 0xd800) << 10) + (s.charCodeAt(++i) - 0xdc00);
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return out;
}

function str(s) {
  const b = utf8(s);
  return [b.length >> 8, b.length & 255, ...b];
}

function packet(typeAndFlags, body) {
  const len = [];
  let n = body.length;
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 128;
    len.push(byte);
  } while (n > 0);
  const out = new Uint8Array(1 + len.length + body.length);
  out[0] = typeAndFlags;
  out.set(len, 1);
  out.set(body, 1 + len.length);
  return out.buffer;
}

export function connectPacket(clientId, keepAliveS = 60, username, password) {
  let flags = 0x02; // clean session
  const payload = [...str(clientId)];
  if (username !== undefined) {
    flags |= 0x80;
    payload.push(...str(username));
  }
  if (password !== undefined) {
    flags |= 0x40;
    payload.push(...str(password));
  }
  return packet(CONNECT << 4, [...str('MQTT'), 4, flags, keepAliveS >> 8, keepAliveS & 255, ...payload]);
}

export function publishPacket(topic, payload, packetId) {
  return packet((PUBLISH << 4) | 0x02, [...str(topic), packetId >> 8, packetId & 255, ...utf8(payload)]);
}

export function disconnectPacket() {
  return packet(DISCONNECT << 4, []);
}

/** Splits a byte stream into packets: call push(bytes) with each frame; it calls onPacket(type, body). */
export function packetReader(onPacket) {
  let buf = new Uint8Array(0);
  return {
    push(ab) {
      const chunk = new Uint8Array(ab);
      const joined = new Uint8Array(buf.length + chunk.length);
      joined.set(buf);
      joined.set(chunk, buf.length);
      buf = joined;
      for (;;) {
        if (buf.length < 2) return;
        let len = 0;
        let mul = 1;
        let i = 1;
        for (;;) {
          if (i >= buf.length) return;
          const b = buf[i++];
          len += (b & 127) * mul;
          mul *= 128;
          if ((b & 128) === 0) break;
        }
        if (buf.length < i + len) return;
        onPacket(buf[0] >> 4, buf.subarray(i, i + len));
        buf = buf.slice(i + len);
      }
    },
  };
}

export const TYPES = { CONNACK, PUBACK };
