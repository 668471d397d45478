/** Where the schemas live on disk, for @grpc/proto-loader and for embedding schemas in MCAP files. */
import { fileURLToPath } from 'node:url';

/** The directory holding michi/v1/*.proto (the include root). */
export const protoDir = fileURLToPath(new URL('../schema', import.meta.url));
/** The protobufjs JSON descriptor of every michi.v1 type. */
export const descriptorPath = fileURLToPath(new URL('../gen/michi.descriptor.json', import.meta.url));
