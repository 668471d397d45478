/**
 * aedes has no maximum packet size: mqtt-packet buffers a whole PUBLISH, whatever its length, before
 * aedes sees it. This guard reads the MQTT fixed header of every packet as the bytes arrive (type
 * byte, then the "remaining length" varint, MQTT 3.1.1 §2.2.3) and reports a packet that declares
 * more than the limit before its body is buffered, so the connection can be closed at once.
 */
export class PacketSizeGuard {
  private readonly maxBytes: number;
  /** 0: expecting a type byte; 1: reading the length varint; 2: skipping a body. */
  private state: 0 | 1 | 2 = 0;
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  private remaining = 0;

  /** `maxBytes`: the largest "remaining length" (variable header + payload) accepted. */
  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  /**
   * Feeds the next bytes of the stream; returns the declared length of the first packet over the
   * limit, -1 for a malformed length (more than 4 bytes), or 0 when everything so far is fine.
   */
  feed(chunk: Uint8Array): number {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.state === 2) {
        const skip = Math.min(this.remaining, n - i);
        this.remaining -= skip;
        i += skip;
        if (this.remaining === 0) this.state = 0;
        continue;
      }
      if (this.state === 0) {
        this.state = 1;
        this.length = 0;
        this.multiplier = 1;
        this.lengthBytes = 0;
        i++;
        continue;
      }
      const b = chunk[i++]!;
      this.length += (b & 0x7f) * this.multiplier;
      this.multiplier *= 128;
      this.lengthBytes++;
      if (b & 0x80) {
        if (this.lengthBytes >= 4) return -1;
        continue;
      }
      if (this.length > this.maxBytes) return this.length;
      this.remaining = this.length;
      this.state = this.remaining === 0 ? 0 : 2;
    }
    return 0;
  }
}
