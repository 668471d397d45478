/** @michi/proto/mcap: MCAP recordings of michi readings (the simulator's recorder, the cloud's incident bundles). */
export { BytesWritable, McapReadingWriter, type McapReading } from './mcap-writer.js';
export { rowToBody } from './stored-reading.js';
