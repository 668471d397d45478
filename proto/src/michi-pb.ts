/** The generated michi.v1 code, loaded after protobufjs is configured. Import it from here, never from ../gen. */
import './protobuf-runtime.js';
export { michi } from '../gen/michi.js';
