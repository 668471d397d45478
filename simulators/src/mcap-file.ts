/**
 * MCAP files of michi readings on disk: recording to a file and reading one back for a replay. The
 * format (channels, schemas, times) is @michi/proto/mcap's (McapReadingWriter), so the cloud's
 * incident bundles write recordings `michi-sim replay` reads.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { McapIndexedReader, type IReadable, type IWritable } from '@mcap/core';
import { michi, parseTopic, type ReadingBodyProperties, type ReadingKind } from '@michi/proto';
import { SimErrorCodes, SimulatorError } from './errors.js';
import type { SimReading } from './fleet.js';
import { McapReadingWriter } from '@michi/proto/mcap';

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

/** A recording to a file; the writing itself is @michi/proto/mcap's, shared with the cloud's incident bundles. */
export class McapRecorder {
  private constructor(
    private readonly fh: FileHandle,
    private readonly writer: McapReadingWriter,
  ) {}

  /** Creates (or truncates) `path` and writes the header and `metadata` (strings only, e.g. pilot, seed). */
  static async create(path: string, metadata: Record<string, string> = {}): Promise<McapRecorder> {
    const fh = await open(path, 'w');
    try {
      return new McapRecorder(fh, await McapReadingWriter.start(new FileWritable(fh), LIBRARY, metadata));
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /** Readings added so far. */
  get messages(): number {
    return this.writer.messages;
  }

  /** Queues one reading; writes happen in order. Errors surface in `close`. */
  add(reading: SimReading): void {
    this.writer.add(reading);
  }

  /** Waits for the queued writes; call now and then in long runs to bound memory. */
  async flush(): Promise<void> {
    // A failed write is reported by close(), as before.
    await this.writer.flush().catch(() => undefined);
  }

  /** Writes the summary and index sections and closes the file. */
  async close(): Promise<void> {
    try {
      await this.writer.end();
    } finally {
      await this.fh.close();
    }
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
