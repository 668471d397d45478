/**
 * The wire side of michi.v1.EdgeIngestService/Publish, the gateway-local gRPC ingest, shared by the
 * edge's server and the publishers of vehicles and simulators: the method's path, the metadata a
 * device authenticates with, and the method definitions grpc-js takes (`Server.addService`,
 * `makeGenericClientConstructor`, or `Client.makeBidiStreamRequest` with the path and the
 * serializers). Plain objects, so this module does not load @grpc/grpc-js (see cloud-ingest-wire.ts).
 */
import { michi } from './michi-pb.js';
import { asBuffer, bidiMethod, identity, type BidiMethod } from './grpc-bidi-method.js';

const v1 = michi.v1;

export const EDGE_INGEST_SERVICE = 'michi.v1.EdgeIngestService';
export const PUBLISH_PATH = `/${EDGE_INGEST_SERVICE}/Publish`;
/** Metadata a device authenticates its Publish stream with, as an MQTT username and password. */
export const SOURCE_METADATA_KEY = 'x-michi-source';
export const PASSWORD_METADATA_KEY = 'x-michi-password';

export type PublishServiceDefinition<Req, Res, OutReq = Req, OutRes = Res> = { readonly Publish: BidiMethod<Req, Res, OutReq, OutRes> };

/**
 * The server's view: requests stay bytes until the handler decodes them, so that an undecodable one
 * gets an answer rather than a dead stream; responses are encoded from the generated type.
 */
export const publishServerDefinition: PublishServiceDefinition<
  Buffer,
  michi.v1.PublishResponse.$Properties,
  Buffer,
  michi.v1.PublishResponse
> = {
  Publish: bidiMethod(PUBLISH_PATH, 'publish', {
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: (r) => asBuffer(v1.PublishResponse.encode(r).finish()),
    responseDeserialize: (b) => v1.PublishResponse.decode(b),
  }),
};

/** The publisher's view: PublishRequests in, decoded PublishResponses out. */
export const publishClientDefinition: PublishServiceDefinition<
  michi.v1.PublishRequest.$Properties,
  Buffer,
  michi.v1.PublishRequest,
  michi.v1.PublishResponse
> = {
  Publish: bidiMethod(PUBLISH_PATH, 'publish', {
    requestSerialize: (r) => asBuffer(v1.PublishRequest.encode(r).finish()),
    requestDeserialize: (b) => v1.PublishRequest.decode(b),
    responseSerialize: identity,
    responseDeserialize: (b) => v1.PublishResponse.decode(b),
  }),
};

/** The metadata entries a device authenticates its Publish stream with (the password is never logged). */
export function deviceMetadataEntries(source: string, password: string): [string, string][] {
  return [
    [SOURCE_METADATA_KEY, source],
    [PASSWORD_METADATA_KEY, password],
  ];
}
