/**
 * The michi.v1 schemas as MCAP wants them for protobuf channels: schema encoding "protobuf", the
 * schema's name the full message name (michi.v1.VehicleState), its data a serialized
 * google.protobuf.FileDescriptorSet. Built from the generated descriptor (proto/gen), so Foxglove,
 * Lichtblick and any protobuf runtime can decode the messages without michi's code.
 *
 * protobufjs's `toDescriptor` leaves two things other runtimes reject: map entries named after
 * the field (protoc and the C++ DescriptorBuilder require `<Field>Entry`), and type names relative
 * to the message. Both are rewritten here into protoc's form.
 */
import { readFileSync } from 'node:fs';
import { descriptorPath } from '../descriptor.js';
import type { ReadingKind } from '../topics.js';
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor/index.js';

/** The message type of each kind of reading. */
export const KIND_MESSAGE: Readonly<Record<ReadingKind, string>> = {
  state: 'michi.v1.VehicleState',
  link: 'michi.v1.LinkSample',
  sensor: 'michi.v1.SensorReading',
  event: 'michi.v1.Event',
};

interface FieldProto {
  name: string;
  type?: string;
  typeName?: string;
}
interface MessageProto {
  name: string;
  field?: FieldProto[];
  nestedType?: MessageProto[];
  options?: { mapEntry?: boolean };
}
interface FileProto {
  name: string;
  package?: string;
  messageType?: MessageProto[];
  enumType?: { name: string }[];
}

function camel(name: string): string {
  return name.replace(/(^|_)([a-z])/g, (_m, _u: string, c: string) => c.toUpperCase());
}

/** Rewrites one file descriptor in place into protoc's canonical form. */
function canonicalize(file: FileProto): void {
  const pkg = file.package ? `.${file.package}` : '';
  const topLevel = new Set([...(file.messageType ?? []).map((m) => m.name), ...(file.enumType ?? []).map((e) => e.name)]);
  const visit = (msg: MessageProto, scope: string): void => {
    const full = `${scope}.${msg.name}`;
    const renamed = new Map<string, string>();
    for (const nested of msg.nestedType ?? []) {
      if (nested.options?.mapEntry) {
        const field = (msg.field ?? []).find((f) => f.typeName === nested.name);
        if (field) {
          const entry = `${camel(field.name)}Entry`;
          renamed.set(nested.name, entry);
          nested.name = entry;
        }
      }
    }
    const nestedNames = new Set((msg.nestedType ?? []).map((n) => n.name));
    for (const f of msg.field ?? []) {
      if (!f.typeName || f.typeName.startsWith('.')) continue;
      const local = renamed.get(f.typeName) ?? f.typeName;
      if (nestedNames.has(local)) f.typeName = `${full}.${local}`;
      else if (topLevel.has(f.typeName)) f.typeName = `${pkg}.${f.typeName}`;
      else f.typeName = `${pkg}.${f.typeName.replace(/^michi\.v1\./, '')}`;
    }
    for (const nested of msg.nestedType ?? []) visit(nested, full);
  };
  for (const m of file.messageType ?? []) visit(m, pkg);
}

let cached: Uint8Array | undefined;

/** The serialized FileDescriptorSet of every michi.v1 type. */
export function michiFileDescriptorSet(): Uint8Array {
  if (cached) return cached;
  // protobufjs/ext/descriptor adds Root#toDescriptor and the descriptor types; its .d.ts declares neither.
  const root = protobuf.Root.fromJSON(JSON.parse(readFileSync(descriptorPath, 'utf8')) as protobuf.INamespace) as unknown as {
    toDescriptor(syntax: string): { file: FileProto[] };
  };
  const set = root.toDescriptor('proto3');
  for (const file of set.file) {
    canonicalize(file);
    if (file.package === 'michi.v1') file.name = 'michi/v1/michi.proto';
  }
  const { FileDescriptorSet } = descriptor as unknown as { FileDescriptorSet: protobuf.Type };
  const bytes = FileDescriptorSet.encode(FileDescriptorSet.fromObject(set)).finish();
  cached = bytes;
  return bytes;
}
