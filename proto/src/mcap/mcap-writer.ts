/**
 * MCAP files of michi readings, written the one way the simulator's recorder and the cloud's
 * incident bundles both write them: one channel per source and kind, its topic the reading's MQTT
 * topic (michi/v1/{pilot}/{gateway}/{source}/{kind}), message encoding "protobuf", the michi.v1
 * schemas embedded (mcap-schema.ts); log and publish time are the source timestamp, the sequence the
 * source's sequence number. Nothing in a file depends on the wall clock, so the same readings give
 * the same bytes; `michi-sim replay` replays any such file.
 */
import { McapWriter, type IWritable } from '@mcap/core';
import { encodeReadingPayload, type ReadingBodyProperties } from '../codec.js';
import type { ReadingKind } from '../topics.js';
import { KIND_MESSAGE, michiFileDescriptorSet } from './mcap-schema.js';

const NS_PER_MS = 1_000_000n;

/** What one message of a recording needs: its kind, its MQTT topic and its body. */
export interface McapReading {
  kind: ReadingKind;
  topic: string;
  body: ReadingBodyProperties;
}

/** Bytes kept in memory, for a recording that becomes part of something else (an incident bundle). */
export class BytesWritable implements IWritable {
  private readonly parts: Uint8Array[] = [];
  private pos = 0n;
  async write(buffer: Uint8Array): Promise<void> {
    // McapWriter reuses its buffer between calls.
    this.parts.push(buffer.slice());
    this.pos += BigInt(buffer.byteLength);
  }
  position(): bigint {
    return this.pos;
  }
  /** Everything written so far, as one buffer. */
  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

export class McapReadingWriter {
  private readonly channels = new Map<string, number>();
  private readonly schemas = new Map<ReadingKind, number>();
  private tail: Promise<void> = Promise.resolve();
  private failure: unknown;
  private count = 0;

  private constructor(private readonly writer: McapWriter) {}

  /** Writes the header (`library` names the writer) and `metadata` (strings only, e.g. pilot, seed) to `writable`. */
  static async start(writable: IWritable, library: string, metadata: Record<string, string> = {}): Promise<McapReadingWriter> {
    const writer = new McapWriter({ writable, chunkSize: 1024 * 1024 });
    await writer.start({ profile: '', library });
    if (Object.keys(metadata).length > 0) await writer.addMetadata({ name: 'michi', metadata: new Map(Object.entries(metadata).sort()) });
    return new McapReadingWriter(writer);
  }

  /** Readings added so far. */
  get messages(): number {
    return this.count;
  }

  /** Queues one reading; writes happen in order. Errors surface in `flush` and `end`. */
  add(reading: McapReading): void {
    this.count++;
    const data = encodeReadingPayload(reading.kind, reading.body, 'protobuf');
    this.tail = this.tail.then(async () => {
      if (this.failure) return;
      try {
        const channelId = await this.channel(reading);
        const ts = BigInt(Number(reading.body.ts_ms)) * NS_PER_MS;
        await this.writer.addMessage({ channelId, sequence: Number(reading.body.seq ?? 0) % 2 ** 32, logTime: ts, publishTime: ts, data });
      } catch (err) {
        this.failure = err;
      }
    });
  }

  /** Waits for the queued writes; call now and then in long runs to bound memory. */
  async flush(): Promise<void> {
    await this.tail;
    if (this.failure) throw this.failure;
  }

  /** Writes the summary and index sections; the writable is then complete. */
  async end(): Promise<void> {
    await this.flush();
    await this.writer.end();
  }

  private async channel(r: McapReading): Promise<number> {
    const existing = this.channels.get(r.topic);
    if (existing !== undefined) return existing;
    let schemaId = this.schemas.get(r.kind);
    if (schemaId === undefined) {
      schemaId = await this.writer.registerSchema({ name: KIND_MESSAGE[r.kind], encoding: 'protobuf', data: michiFileDescriptorSet() });
      this.schemas.set(r.kind, schemaId);
    }
    const id = await this.writer.registerChannel({ topic: r.topic, schemaId, messageEncoding: 'protobuf', metadata: new Map() });
    this.channels.set(r.topic, id);
    return id;
  }
}
