/**
 * MCAP files of michi readings: one channel per source and kind, its topic the reading's MQTT topic
 * (michi/v1/{pilot}/{gateway}/{source}/{kind}), message encoding "protobuf", the michi.v1 schemas
 * embedded (mcap-schema.ts); log and publish time are the source timestamp, the sequence the
 * source's sequence number. Nothing in a file depends on the wall clock, so the same readings give
 * the same bytes.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { McapIndexedReader, McapWriter, type IReadable, type IWritable } from '@mcap/core';
import { encodeReadingPayload, michi, parseTopic, type ReadingBodyProperties, type ReadingKind } from '@michi/proto';
import { SimErrorCodes, SimulatorError } from './errors.js';
import type { SimReading } from './fleet.js';
import { KIND_MESSAGE, michiFileDescriptorSet } from './mcap-schema.js';

const LIBRARY = 'michi-sim';
const NS_PER_MS = 1_000_000n;

/** Sequential writes to a file, with the position McapWriter needs. */
class FileWritable implements IWritable {
  private pos = 0n;
  constructor(private readonly fh: FileHandle) {}
  async write(buffer: Uint8Array): Promise<void> {
    let done = 0;
    while (done < buffer.byteLength) {
      const { bytesWritten } = await this.fh.write(buffer, done, buffer.byteLength - done);
      done += bytesWritten;
    }
    this.pos += BigInt(buffer.byteLength);
  }
  position(): bigint {
    return this.pos;
  }
}

export class McapRecorder {
  private readonly channels = new Map<string, number>();
  private readonly schemas = new Map<ReadingKind, number>();
  private tail: Promise<void> = Promise.resolve();
  private failure: unknown;
  private count = 0;

  private constructor(
    private readonly fh: FileHandle,
    private readonly writer: McapWriter,
  ) {}

  /** Creates (or truncates) `path` and writes the header and `metadata` (strings only, e.g. pilot, seed). */
  static async create(path: string, metadata: Record<string, string> = {}): Promise<McapRecorder> {
    const fh = await open(path, 'w');
    const writer = new McapWriter({ writable: new FileWritable(fh), chunkSize: 1024 * 1024 });
    await writer.start({ profile: '', library: LIBRARY });
    if (Object.keys(metadata).length > 0) await writer.addMetadata({ name: 'michi', metadata: new Map(Object.entries(metadata).sort()) });
    return new McapRecorder(fh, writer);
  }

  /** Readings added so far. */
  get messages(): number {
    return this.count;
  }

  /** Queues one reading; writes happen in order. Errors surface in `close`. */
  add(reading: SimReading): void {
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
  flush(): Promise<void> {
    return this.tail;
  }

  /** Writes the summary and index sections and closes the file. */
  async close(): Promise<void> {
    try {
      await this.tail;
      if (this.failure) throw this.failure;
      await this.writer.end();
    } finally {
      await this.fh.close();
    }
  }

  private async channel(r: SimReading): Promise<number> {
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

/** Random access to a file for McapIndexedReader. */
class FileReadable implements IReadable {
  constructor(private readonly fh: FileHandle) {}
  async size(): Promise<bigint> {
    return BigInt((await this.fh.stat()).size);
  }
  async read(offset: bigint, size: bigint): Promise<Uint8Array> {
    const buf = new Uint8Array(Number(size));
    const { bytesRead } = await this.fh.read(buf, 0, buf.byteLength, Number(offset));
    return buf.subarray(0, bytesRead);
  }
}

/** One recorded reading: where it goes, its source timestamp, and its protobuf body as recorded. */
export interface RecordedReading {
  topic: string;
  pilotId: string;
  gatewayId: string;
  sourceId: string;
  kind: ReadingKind;
  tsMs: number;
  payload: Uint8Array;
}

const BODY_TYPES = {
  state: michi.v1.VehicleState,
  link: michi.v1.LinkSample,
  sensor: michi.v1.SensorReading,
  event: michi.v1.Event,
} as const;

/** The body of a recorded reading, decoded. */
export function decodeRecorded(r: RecordedReading): ReadingBodyProperties {
  return BODY_TYPES[r.kind].decode(r.payload) as ReadingBodyProperties;
}

export interface McapReadingFile {
  /** Metadata records by name. */
  metadata: Map<string, Map<string, string>>;
  messageCount: number;
  startMs: number;
  endMs: number;
  /** Every reading in log-time order (source timestamps). */
  readings(): AsyncGenerator<RecordedReading>;
  close(): Promise<void>;
}

/** Opens an MCAP file written by McapRecorder (or any with michi reading topics and protobuf bodies). */
export async function openMcapReadings(path: string): Promise<McapReadingFile> {
  const fh = await open(path, 'r');
  let reader: McapIndexedReader;
  try {
    reader = await McapIndexedReader.Initialize({ readable: new FileReadable(fh) });
  } catch (err) {
    await fh.close();
    throw new SimulatorError(
      SimErrorCodes.RECORDING,
      `${path} is not a readable, indexed MCAP file: ${(err as Error).message}`,
      { path },
      { cause: err },
    );
  }
  const metadata = new Map<string, Map<string, string>>();
  for await (const m of reader.readMetadata()) metadata.set(m.name, m.metadata);
  const channels = new Map<number, Omit<RecordedReading, 'tsMs' | 'payload'>>();
  for (const [id, ch] of reader.channelsById) {
    let parsed;
    try {
      parsed = parseTopic(ch.topic);
    } catch {
      continue; // not a michi reading topic: other tools' channels are left alone
    }
    if (parsed.type !== 'reading') continue;
    channels.set(id, { topic: ch.topic, pilotId: parsed.pilot, gatewayId: parsed.gateway, sourceId: parsed.source, kind: parsed.kind });
  }
  const stats = reader.statistics;
  return {
    metadata,
    messageCount: Number(stats?.messageCount ?? 0n),
    startMs: Number((stats?.messageStartTime ?? 0n) / NS_PER_MS),
    endMs: Number((stats?.messageEndTime ?? 0n) / NS_PER_MS),
    async *readings() {
      for await (const m of reader.readMessages()) {
        const ch = channels.get(m.channelId);
        if (!ch) continue;
        yield { ...ch, tsMs: Number(m.logTime / NS_PER_MS), payload: m.data };
      }
    },
    close: () => fh.close(),
  };
}
