/**
 * What the gRPC servers' reflection serves: the FileDescriptorProtos of proto/gen/michi.binpb, as
 * `buf build` compiled them from the .proto files (michi.v1 and the standard health service). The
 * descriptors @grpc/proto-loader derives through protobufjs name map entries `Signals` instead of
 * `SignalsEntry` and files `michi_v1.proto`, which Go's protobuf (grpcurl, grpc_health_probe)
 * rejects; protoc's own output is what every client expects.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The compiled FileDescriptorSet of every schema. */
export const descriptorSetPath = fileURLToPath(new URL('../gen/michi.binpb', import.meta.url));

function readVarint(buf: Uint8Array, at: number): [value: number, next: number] {
  let value = 0;
  let shift = 0;
  for (let i = at; i < buf.length && shift < 35; i++) {
    value += (buf[i]! & 0x7f) * 2 ** shift;
    if ((buf[i]! & 0x80) === 0) return [value, i + 1];
    shift += 7;
  }
  throw new Error(`${descriptorSetPath}: truncated varint at byte ${at}`);
}

/** Splits a FileDescriptorSet (`repeated FileDescriptorProto file = 1`) into its encoded files. */
export function splitDescriptorSet(set: Uint8Array): Buffer[] {
  const files: Buffer[] = [];
  let at = 0;
  while (at < set.length) {
    const [tag, afterTag] = readVarint(set, at);
    if (tag !== 0x0a) throw new Error(`${descriptorSetPath}: expected field 1 (file), found tag ${tag} at byte ${at}`);
    const [length, start] = readVarint(set, afterTag);
    if (start + length > set.length) throw new Error(`${descriptorSetPath}: a file runs past the end (byte ${start} + ${length})`);
    files.push(Buffer.from(set.subarray(start, start + length)));
    at = start + length;
  }
  return files;
}

/**
 * The argument @grpc/reflection's ReflectionService takes (a package definition), holding only the
 * compiled files; pass `{ services: [...] }` beside it to list only what a server serves.
 */
export function reflectionPackage(): Record<string, { fileDescriptorProtos: Buffer[] }> {
  return { michi: { fileDescriptorProtos: splitDescriptorSet(readFileSync(descriptorSetPath)) } };
}
