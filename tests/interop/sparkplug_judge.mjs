// A Sparkplug B codec independent of the agent's: Eclipse Tahu's sparkplug-payload (protobufjs, compiled
// from Tahu's own sparkplug_b.proto), used to check what the agent encodes and to make what hosts send.
//
// Usage:
//   node sparkplug_judge.mjs decode [<base64> | --file <path>]   (no argument: base64 on stdin)
//     -> {"payload": <decodePayload's result>, "raw": <the protobuf message as Tahu's schema reads it>}
//        ("payload": null and "payloadError": message when the library throws on a message it can parse)
//   node sparkplug_judge.mjs encode [<JSON payload>]             (no argument: JSON on stdin)
//     -> {"base64": <encodePayload's result>}
// It prints one JSON document on stdout and exits 0, or prints {"error": message} and exits 1.
//
// "payload" is what Tahu's JavaScript library makes of the bytes: metrics as {name, alias, timestamp,
// type: "Int16", value, isHistorical, isNull, properties: {key: {type, value}}}, types by name.
// "raw" is the plain protobuf message: field names in camelCase (intValue, isHistorical), a metric's
// value in the field it travelled in, and no defaults, so an absent field is absent.
// Both write 64-bit integers (Long) as decimal strings, bytes as base64 and non-finite floats as "NaN",
// "Infinity" or "-Infinity", which JSON cannot carry otherwise.
//
// encode takes sparkplug-payload's input form: {timestamp, seq, metrics: [{name, alias, type: "Int64",
// value, timestamp, isHistorical, properties: {key: {type, value}}}]}. A 64-bit value may be a decimal
// string ("-9223372036854775808"), and {"$base64": "..."} stands for bytes.

import fs from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
// npm nests a copy of long 4 under sparkplug-payload and another under protobufjs here (node-opcua has
// long 5 at the top), and sparkplug-payload's `instanceof Long` fails for protobufjs' Longs, which leaves
// Int64 values unsigned. Pointing protobufjs at sparkplug-payload's copy, before the schema is loaded,
// gives the library the single long that a deduplicated install has.
const fromSparkplug = createRequire(require.resolve("sparkplug-payload"));
const protobuf = fromSparkplug("protobufjs/minimal");
protobuf.util.Long = fromSparkplug("long");
protobuf.configure();
const sparkplug = require("sparkplug-payload").get("spBv1.0");
const { org } = require("sparkplug-payload/lib/sparkplugPayloadProto.js");
const ProtoPayload = org.eclipse.tahu.protobuf.Payload;

function plain(value) {
  if (value === null || value === undefined) return null;
  if (value.__isLong__ === true) return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
  if (typeof value === "number") return Number.isFinite(value) ? value : String(value);
  if (typeof value === "bigint") return value.toString();
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, plain(inner)]));
  }
  return value;
}

function withBytes(value) {
  if (Array.isArray(value)) return value.map(withBytes);
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === "$base64") return Buffer.from(value.$base64, "base64");
    return Object.fromEntries(keys.map((key) => [key, withBytes(value[key])]));
  }
  return value;
}

function input(args) {
  if (args[0] === "--file") return { file: args[1] };
  if (args.length > 0 && args[0] !== "-") return { text: args[0] };
  return { text: fs.readFileSync(0, "utf8") };
}

function decode(args) {
  const source = input(args);
  const bytes = source.file !== undefined ? fs.readFileSync(source.file) : Buffer.from(source.text.trim(), "base64");
  const raw = ProtoPayload.toObject(ProtoPayload.decode(bytes), { longs: String, bytes: String, json: true });
  try {
    return { payload: plain(sparkplug.decodePayload(bytes)), raw: plain(raw) };
  } catch (error) {
    // The library gives up on some messages its schema reads (a template parameter's UInt32 in
    // int_value): the raw view still says what the bytes hold.
    return { payload: null, payloadError: error instanceof Error ? error.message : String(error), raw: plain(raw) };
  }
}

function encode(args) {
  const payload = withBytes(JSON.parse(input(args).text));
  return { base64: Buffer.from(sparkplug.encodePayload(payload)).toString("base64") };
}

const [mode, ...args] = process.argv.slice(2);
try {
  if (mode !== "decode" && mode !== "encode") throw new Error(`the mode is "decode" or "encode", not ${mode}`);
  const result = mode === "decode" ? decode(args) : encode(args);
  process.stdout.write(`${JSON.stringify(result)}\n`);
} catch (error) {
  process.stdout.write(`${JSON.stringify({ error: error instanceof Error ? error.message : String(error) })}\n`);
  process.exitCode = 1;
}
