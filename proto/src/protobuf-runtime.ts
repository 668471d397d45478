/**
 * Configures protobufjs before the generated code loads (the generated module computes its
 * defaults at load time): without long.js, 64-bit integers decode to plain numbers, exact up to
 * 2^53 (a millisecond timestamp needs 41 bits; a sequence number will not reach 2^53).
 */
import $protobuf from 'protobufjs/minimal.js';

$protobuf.util.Long = undefined as unknown as typeof $protobuf.util.Long;
$protobuf.configure();
