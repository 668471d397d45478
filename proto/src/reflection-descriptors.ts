/**
 * What the gRPC servers' reflection serves: the FileDescriptorProtos of proto/gen/michi.binpb, as
 * `buf build` compiled them from the .proto files (michi.v1 and the standard health service). The
 * descriptors @grpc/proto-loader derives through protobufjs name map entries `Signals` instead of
 * `SignalsEntry` and files `michi_v1.proto`, which Go's protobuf (grpcurl, grpc_health_probe)
 * rejects; protoc's own output is what every client expects.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import $protobuf from 'protobufjs/minimal.js';

/** The compiled FileDescriptorSet of every schema. */
export const descriptorSetPath = fileURLToPath(new URL('../gen/michi.binpb', import.meta.url));

/** Splits a FileDescriptorSet (`repeated FileDescriptorProto file = 1`) into its encoded files. */
export function splitDescriptorSet(set: Uint8Array): Buffer[] {
  const files: Buffer[] = [];
  const reader = $protobuf.Reader.create(set);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag !== 0x0a) throw new Error(`${descriptorSetPath}: expected field 1 (file), found tag ${tag}`);
    files.push(Buffer.from(reader.bytes()));
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
