// An OPC UA client built on node-opcua, a stack independent of the server's, driven by one JSON job.
//
// Usage: node client.mjs '<job>'   or   node client.mjs < job.json
// It prints exactly one JSON result on stdout and exits (0 when it connected, 1 when not). Events a caller
// may wait for go to stderr as lines "@@event <JSON>": {"event": "connected"} once the session is up,
// {"event": "subscribed", "op": <index>, "items": [...]} once a subscription's items are in place.
// Everything node-opcua logs goes to stderr as well, so stdout stays one JSON document.
//
// Job:
//   endpoint        "opc.tcp://127.0.0.1:4840"
//   securityPolicy  "None" | "Basic256Sha256" | "Aes128_Sha256_RsaOaep" | "Aes256_Sha256_RsaPss"
//                   (the agent's spellings without "_" and policy URIs work too)
//   securityMode    "None" | "Sign" | "SignAndEncrypt" (default: SignAndEncrypt, None for policy None)
//   certificate, privateKey   paths of the client's certificate and key, PEM or DER
//   applicationUri  the URI in the certificate's subjectAltName
//   pkiFolder       where the client keeps its own PKI (default: a new folder, removed after the job);
//                   without "certificate", node-opcua makes its own certificate there on first use, as
//                   its default client does, and uses it again in later jobs given the same folder
//   user            {"userName", "password"} | {"certificate", "privateKey"} | absent: anonymous
//   timeoutMs       the whole job's deadline (default 25000): then {"ok": false, stage "timeout"}
//   operations      a list, run in order on one session (none is opened if only getEndpoints is asked):
//     {"op": "browse", "nodeId": "i=85", "depth": 1, "referenceType": "HierarchicalReferences",
//      "direction": "Forward"}
//        -> {"references": [{nodeId, browseName: {namespaceUri, name}, displayName, nodeClass,
//            typeDefinition, referenceType, isForward, parent, path: [browse names from nodeId], depth}]}
//     {"op": "read", "nodeIds": [...], "attribute": "Value"}
//        -> {"values": [{nodeId, value, dataType, arrayType, statusCode, statusCodeValue,
//            sourceTimestamp, serverTimestamp}]}
//     {"op": "write", "writes": [{"nodeId", "dataType": "Int64", "value": 1500}]}
//        -> {"results": [{nodeId, statusCode}]}
//     {"op": "subscribe", "nodeIds": [...], "durationMs": 1000, "maxNotifications": <stop early>,
//      "publishingInterval": 50, "samplingInterval": 0, "queueSize": 100}
//        -> {"items": [{nodeId, statusCode}], "notifications": [{nodeId, value, ..., sourceTimestamp}]}
//     {"op": "call", "objectId", "methodId", "inputArguments": [{"dataType", "value"}]}
//        -> {statusCode, inputArgumentResults, outputArguments: [{value, dataType, arrayType}]}
//        (or "calls": [{objectId, methodId, inputArguments}] -> {"results": [...]})
//     {"op": "historyRead", "nodeIds": [...], "start": ISO, "end": ISO, "numValues": 0,
//      "returnBounds": false}
//        -> {"results": [{nodeId, statusCode, values: [data values as read gives them]}]}
//     {"op": "getEndpoints"}
//        -> {"endpoints": [{endpointUrl, securityPolicy, securityPolicyUri, securityMode, securityLevel,
//            applicationUri, hasServerCertificate, userIdentityTokens: [{policyId, tokenType,
//            securityPolicyUri}]}]}
// NodeIds are strings: "nsu=<namespace URI>;s=name" (resolved through the server's NamespaceArray),
// "ns=2;s=name" or "i=85"; results name nodes the "nsu=" way (namespace 0 as "i=85").
// Typed values: {"dataType": <builtin type name>, "value": ..., "arrayType": "Scalar" | "Array"}; Int64
// as a number or a decimal string, DateTime as ISO 8601, ByteString as base64, NodeId as a string.
// Status codes come back by name ("Good", "BadNotWritable"), times as ISO 8601 with microseconds.
//
// Result: {"ok": true, "securityPolicy", "results": [one per operation, each with "op"; an operation that
// failed has "error": {stage, status, message} instead]}
// or {"ok": false, "error": {"stage": "job" | "connect" | "session" | "timeout" | "client", "status": a
// status code name or null, "message"}}.

import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const EVENT_PREFIX = "@@event ";
const DEFAULT_TIMEOUT_MS = 25000;
const MAX_CONTINUATIONS = 1000;

// node-opcua writes warnings with console.log; they must not mix with the result on stdout.
console.log = console.error;
console.info = console.error;

const opcua = (await import("node-opcua-client")).default;
const { OPCUACertificateManager } = (await import("node-opcua-certificate-manager")).default;
const {
  AttributeIds,
  BrowseDirection,
  DataType,
  HistoryReadRequest,
  MessageSecurityMode,
  NodeClass,
  NodeId,
  OPCUAClient,
  ReadRawModifiedDetails,
  ReferenceTypeIds,
  SecurityPolicy,
  StatusCode,
  StatusCodes,
  TimestampsToReturn,
  UserTokenType,
  Variant,
  VariantArrayType,
  coerceNodeId,
} = opcua;

class JobError extends Error {}

function emitEvent(event) {
  process.stderr.write(`${EVENT_PREFIX}${JSON.stringify(event)}\n`);
}

let finished = false;

// The first result wins: the watchdog's, or the job's if it ends first.
function finish(result) {
  if (finished) return;
  finished = true;
  const code = result.ok ? 0 : 1;
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(code));
}

function readJob() {
  const text = process.argv[2] && process.argv[2] !== "-" ? process.argv[2] : fs.readFileSync(0, "utf8");
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new JobError(`the job is not JSON: ${err.message}`);
  }
}

// ---- errors as JSON ----------------------------------------------------------------------------

const STATUS_NAME = /\b(Bad|Uncertain)[A-Za-z0-9]+\b/;

function statusName(code) {
  if (code === undefined || code === null) return null;
  if (typeof code === "number") return StatusCode.makeStatusCode(code).name;
  return code.name;
}

function errorInfo(err, stage) {
  const message = err instanceof Error ? err.message : String(err);
  let status = null;
  const code = err?.statusCode ?? err?.response?.responseHeader?.serviceResult;
  if (code && typeof code.name === "string") status = code.name;
  if (!status || status === "Good") status = message.match(STATUS_NAME)?.[0] ?? null;
  return { stage, status, message };
}

// ---- security policy, mode, certificates --------------------------------------------------------

function squash(name) {
  return String(name).replaceAll("_", "").toLowerCase();
}

function securityPolicyOf(name) {
  const wanted = squash(name ?? "None");
  for (const [key, uri] of Object.entries(SecurityPolicy)) {
    if (squash(key) === wanted || uri === name) return uri;
  }
  throw new JobError(`unknown security policy ${JSON.stringify(name)}`);
}

function securityModeOf(name) {
  const mode = MessageSecurityMode[name ?? "None"];
  if (typeof mode !== "number") throw new JobError(`unknown security mode ${JSON.stringify(name)}`);
  return mode;
}

function keyAsPem(file) {
  const data = fs.readFileSync(file);
  const text = data.toString("latin1");
  const pem = (key) => key.export({ format: "pem", type: "pkcs8" });
  if (text.includes("-----BEGIN")) return pem(crypto.createPrivateKey(text));
  try {
    return pem(crypto.createPrivateKey({ key: data, format: "der", type: "pkcs8" }));
  } catch {
    return pem(crypto.createPrivateKey({ key: data, format: "der", type: "pkcs1" }));
  }
}

function certificateAsDer(file) {
  const data = fs.readFileSync(file);
  const text = data.toString("latin1");
  return text.includes("-----BEGIN") ? Buffer.from(new crypto.X509Certificate(data).raw) : data;
}

function certificateAsPem(file) {
  return new crypto.X509Certificate(certificateAsDer(file)).toString();
}

// ---- node ids and namespaces ------------------------------------------------------------------

class Namespaces {
  constructor(uris) {
    this.uris = uris;
  }

  // "nsu=<uri>;s=x" (or "ns=2;s=x", "i=85") -> a NodeId of this server.
  nodeId(text) {
    if (typeof text !== "string") {
      throw new JobError(`a node id must be a string, got ${JSON.stringify(text)}`);
    }
    const match = text.match(/^nsu=(.*?);([sigb]=.*)$/s);
    if (!match) return coerceNodeId(text);
    const index = this.uris.indexOf(match[1]);
    if (index < 0) throw new JobError(`the server has no namespace ${match[1]}`);
    return coerceNodeId(`ns=${index};${match[2]}`);
  }

  // A NodeId or ExpandedNodeId as "nsu=<uri>;s=x" ("i=85" in namespace 0): the same on every server.
  text(nodeId) {
    if (!nodeId) return null;
    const identifier = nodeId.toString().replace(/^(nsu=.*?;|ns=\d+;)*/, "").replace(/;srv=\d+$/, "");
    const uri = nodeId.namespaceUri || (nodeId.namespace ? this.uris[nodeId.namespace] : null);
    if (nodeId.namespace === 0 && !nodeId.namespaceUri) return identifier;
    return uri ? `nsu=${uri};${identifier}` : `ns=${nodeId.namespace};${identifier}`;
  }

  qualifiedName(name) {
    return { namespaceUri: this.uris[name.namespaceIndex] ?? null, name: name.name };
  }
}

function enumName(enumeration, value) {
  return enumeration[value] ?? value;
}

// ---- values --------------------------------------------------------------------------------------

function int64(value, signed) {
  if (Array.isArray(value) && value.length === 2) {
    const big = (BigInt(value[0] >>> 0) << 32n) | BigInt(value[1] >>> 0);
    return toJsonNumber(signed ? BigInt.asIntN(64, big) : big);
  }
  return typeof value === "bigint" ? toJsonNumber(value) : value;
}

function toJsonNumber(big) {
  return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(big)
    : big.toString();
}

function plain(value, ns, dataType) {
  if (value === null || value === undefined) return null;
  if (dataType === DataType.Int64 || dataType === DataType.UInt64) {
    const signed = dataType === DataType.Int64;
    if (Array.isArray(value) && value.length > 0 && Array.isArray(value[0])) {
      return value.map((item) => int64(item, signed));
    }
    return int64(value, signed);
  }
  if (typeof value === "bigint") return toJsonNumber(value);
  if (typeof value === "number") return Number.isFinite(value) ? value : String(value);
  if (typeof value !== "object") return value;
  if (value instanceof Date) return value.toISOString();
  if (Buffer.isBuffer(value)) return value.toString("base64");
  if (ArrayBuffer.isView(value)) return Array.from(value, (item) => plain(item, ns));
  if (Array.isArray(value)) return value.map((item) => plain(item, ns, dataType));
  if (value instanceof NodeId || value.constructor?.name === "ExpandedNodeId") return ns.text(value);
  if (value instanceof Variant) return variantJson(value, ns);
  if (value.constructor?.name === "StatusCode" || value instanceof StatusCode) return value.name;
  if (value.constructor?.name === "QualifiedName") return ns.qualifiedName(value);
  const fields = value.schema?.fields?.map((field) => field.name) ?? Object.keys(value);
  const out = {};
  if (value.schema?.name) out._type = value.schema.name;
  for (const field of fields) out[field] = plain(value[field], ns);
  return out;
}

function variantJson(variant, ns) {
  return {
    value: plain(variant.value, ns, variant.dataType),
    dataType: enumName(DataType, variant.dataType),
    arrayType: enumName(VariantArrayType, variant.arrayType),
  };
}

// ISO 8601 with the microseconds node-opcua keeps in the picoseconds field beyond the Date's ms.
function timestamp(date, picoseconds) {
  if (!date || date.getTime() <= -11644473600000) return null;
  const micros = Math.floor((picoseconds ?? 0) / 1e6);
  return date.toISOString().replace(/Z$/, `${String(micros).padStart(3, "0")}Z`);
}

function dataValueJson(dataValue, ns) {
  const variant = dataValue.value;
  return {
    value: variant ? plain(variant.value, ns, variant.dataType) : null,
    dataType: variant ? enumName(DataType, variant.dataType) : null,
    arrayType: variant ? enumName(VariantArrayType, variant.arrayType) : null,
    statusCode: statusName(dataValue.statusCode),
    statusCodeValue: dataValue.statusCode?.value ?? 0,
    sourceTimestamp: timestamp(dataValue.sourceTimestamp, dataValue.sourcePicoseconds),
    serverTimestamp: timestamp(dataValue.serverTimestamp, dataValue.serverPicoseconds),
  };
}

// {"dataType": "Int64", "value": 1500, "arrayType": "Scalar"} -> a Variant.
function variantOf(spec, ns) {
  if (!spec || typeof spec !== "object" || !("dataType" in spec)) {
    throw new JobError(`a typed value needs "dataType" and "value", got ${JSON.stringify(spec)}`);
  }
  const dataType = DataType[spec.dataType];
  if (typeof dataType !== "number") throw new JobError(`unknown data type ${JSON.stringify(spec.dataType)}`);
  const isArray = Array.isArray(spec.value) && (spec.arrayType ?? "Array") !== "Scalar";
  const convert = (item) => typedValue(dataType, item, ns);
  return new Variant({
    dataType,
    arrayType: isArray ? VariantArrayType.Array : VariantArrayType.Scalar,
    value: isArray ? spec.value.map(convert) : convert(spec.value),
  });
}

function typedValue(dataType, value, ns) {
  if (value === null || value === undefined) return value;
  switch (dataType) {
    case DataType.Int64:
    case DataType.UInt64: {
      const big = BigInt.asUintN(64, BigInt(value));
      return [Number(big >> 32n), Number(big & 0xffffffffn)];
    }
    case DataType.DateTime:
      return new Date(value);
    case DataType.ByteString:
      return Buffer.from(value, "base64");
    case DataType.NodeId:
      return ns.nodeId(value);
    case DataType.LocalizedText:
      return typeof value === "string" ? { text: value } : value;
    case DataType.QualifiedName: {
      if (typeof value === "string") return { namespaceIndex: 0, name: value };
      const index = value.namespaceUri ? ns.uris.indexOf(value.namespaceUri) : (value.namespaceIndex ?? 0);
      return { namespaceIndex: index, name: value.name };
    }
    default:
      return value;
  }
}

// ---- operations -----------------------------------------------------------------------------------

async function browse(session, ns, op) {
  const maxDepth = op.depth ?? 1;
  const referenceTypeId = op.referenceType ? ns.nodeId(referenceTypeOf(op.referenceType)) : undefined;
  const start = op.nodeId ?? "i=85";
  const found = [];
  const seen = new Set([ns.text(ns.nodeId(start))]);
  let level = [{ nodeId: ns.nodeId(start), path: [] }];
  for (let depth = 1; depth <= maxDepth && level.length > 0; depth++) {
    const next = [];
    const results = await browseAll(
      session,
      level.map((item) => ({
        nodeId: item.nodeId,
        browseDirection: BrowseDirection[op.direction ?? "Forward"],
        referenceTypeId: referenceTypeId ?? ReferenceTypeIds.HierarchicalReferences,
        includeSubtypes: true,
        nodeClassMask: 0,
        resultMask: 0x3f,
      })),
    );
    results.forEach((result, i) => {
      const parent = level[i];
      if (result.statusCode.isNotGood()) {
        found.push({ parent: ns.text(parent.nodeId), depth, error: statusName(result.statusCode) });
        return;
      }
      for (const ref of result.references) {
        const id = ns.text(ref.nodeId);
        const browseName = ns.qualifiedName(ref.browseName);
        const entry = {
          nodeId: id,
          browseName,
          displayName: ref.displayName?.text ?? null,
          nodeClass: enumName(NodeClass, ref.nodeClass),
          typeDefinition: ns.text(ref.typeDefinition),
          referenceType: referenceTypeName(ns, ref.referenceTypeId),
          isForward: ref.isForward,
          parent: ns.text(parent.nodeId),
          path: [...parent.path, browseName.name],
          depth,
        };
        found.push(entry);
        if (!seen.has(id) && !ref.nodeId.serverIndex) {
          seen.add(id);
          next.push({ nodeId: ns.nodeId(id), path: entry.path });
        }
      }
    });
    level = next;
  }
  return { references: found };
}

async function browseAll(session, descriptions) {
  const results = await session.browse(descriptions);
  for (const result of results) {
    let continuationPoint = result.continuationPoint;
    for (let round = 0; continuationPoint && continuationPoint.length > 0; round++) {
      if (round >= MAX_CONTINUATIONS) throw new Error("browse did not end");
      const [more] = await session.browseNext([continuationPoint], false);
      result.references.push(...(more.references ?? []));
      continuationPoint = more.continuationPoint;
    }
  }
  return results;
}

function referenceTypeOf(name) {
  return typeof ReferenceTypeIds[name] === "number" ? `i=${ReferenceTypeIds[name]}` : name;
}

const REFERENCE_TYPE_NAMES = Object.fromEntries(Object.entries(ReferenceTypeIds).map(([k, v]) => [v, k]));

function referenceTypeName(ns, nodeId) {
  if (nodeId.namespace === 0 && REFERENCE_TYPE_NAMES[nodeId.value]) return REFERENCE_TYPE_NAMES[nodeId.value];
  return ns.text(nodeId);
}

async function read(session, ns, op) {
  const attribute = op.attribute ?? "Value";
  const attributeId = AttributeIds[attribute];
  if (typeof attributeId !== "number") throw new JobError(`unknown attribute ${JSON.stringify(attribute)}`);
  const dataValues = await session.read(
    op.nodeIds.map((nodeId) => ({ nodeId: ns.nodeId(nodeId), attributeId })),
    op.maxAge ?? 0,
  );
  return { values: dataValues.map((dv, i) => ({ nodeId: op.nodeIds[i], ...dataValueJson(dv, ns) })) };
}

async function write(session, ns, op) {
  const statusCodes = await session.write(
    op.writes.map((item) => ({
      nodeId: ns.nodeId(item.nodeId),
      attributeId: AttributeIds.Value,
      value: { value: variantOf(item, ns) },
    })),
  );
  const results = statusCodes.map((code, i) => ({ nodeId: op.writes[i].nodeId, statusCode: statusName(code) }));
  return { results };
}

async function subscribe(session, ns, op, index) {
  const durationMs = op.durationMs ?? 1000;
  const subscription = await session.createSubscription2({
    requestedPublishingInterval: op.publishingInterval ?? 50,
    requestedLifetimeCount: 100,
    requestedMaxKeepAliveCount: 10,
    maxNotificationsPerPublish: 0,
    publishingEnabled: true,
    priority: 0,
  });
  const notifications = [];
  const items = [];
  let enough;
  const enoughSeen = new Promise((resolve) => {
    enough = resolve;
  });
  try {
    for (const nodeId of op.nodeIds) {
      try {
        const item = await subscription.monitor(
          { nodeId: ns.nodeId(nodeId), attributeId: AttributeIds.Value },
          { samplingInterval: op.samplingInterval ?? 0, discardOldest: true, queueSize: op.queueSize ?? 100 },
          TimestampsToReturn.Both,
        );
        item.on("changed", (dataValue) => {
          notifications.push({ nodeId, ...dataValueJson(dataValue, ns) });
          if (op.maxNotifications && notifications.length >= op.maxNotifications) enough();
        });
        items.push({ nodeId, statusCode: statusName(item.statusCode ?? StatusCodes.Good) });
      } catch (err) {
        items.push({ nodeId, ...errorInfo(err, "monitor") });
      }
    }
    emitEvent({ event: "subscribed", op: index, items });
    let timer;
    await Promise.race([enoughSeen, new Promise((resolve) => (timer = setTimeout(resolve, durationMs)))]);
    clearTimeout(timer);
  } finally {
    await subscription.terminate().catch(() => {});
  }
  return { items, notifications };
}

async function call(session, ns, op) {
  const calls = op.calls ?? [op];
  const results = await session.call(
    calls.map((item) => ({
      objectId: ns.nodeId(item.objectId),
      methodId: ns.nodeId(item.methodId),
      inputArguments: (item.inputArguments ?? []).map((arg) => variantOf(arg, ns)),
    })),
  );
  const out = results.map((result) => ({
    statusCode: statusName(result.statusCode),
    inputArgumentResults: (result.inputArgumentResults ?? []).map(statusName),
    outputArguments: (result.outputArguments ?? []).map((variant) => variantJson(variant, ns)),
  }));
  return op.calls ? { results: out } : out[0];
}

async function historyRead(session, ns, op) {
  const details = new ReadRawModifiedDetails({
    isReadModified: false,
    startTime: op.start ? new Date(op.start) : null,
    endTime: op.end ? new Date(op.end) : null,
    numValuesPerNode: op.numValues ?? 0,
    returnBounds: op.returnBounds ?? false,
  });
  const results = [];
  for (const nodeId of op.nodeIds) {
    const values = [];
    let continuationPoint = null;
    let status = null;
    for (let round = 0; ; round++) {
      if (round >= MAX_CONTINUATIONS) throw new Error("history read did not end");
      const response = await session.historyRead(
        new HistoryReadRequest({
          historyReadDetails: details,
          timestampsToReturn: TimestampsToReturn.Both,
          releaseContinuationPoints: false,
          nodesToRead: [{ nodeId: ns.nodeId(nodeId), continuationPoint, dataEncoding: null }],
        }),
      );
      const [result] = response.results;
      status = statusName(result.statusCode);
      for (const dv of result.historyData?.dataValues ?? []) values.push(dataValueJson(dv, ns));
      continuationPoint = result.continuationPoint;
      if (result.statusCode.isNotGood() || !continuationPoint || continuationPoint.length === 0) break;
    }
    results.push({ nodeId, statusCode: status, values });
  }
  return { results };
}

async function getEndpoints(client) {
  const endpoints = await client.getEndpoints();
  return {
    endpoints: endpoints.map((endpoint) => ({
      endpointUrl: endpoint.endpointUrl,
      securityPolicyUri: endpoint.securityPolicyUri,
      securityPolicy: endpoint.securityPolicyUri?.split("#")[1] ?? null,
      securityMode: enumName(MessageSecurityMode, endpoint.securityMode),
      securityLevel: endpoint.securityLevel,
      applicationUri: endpoint.server?.applicationUri ?? null,
      hasServerCertificate: Boolean(endpoint.serverCertificate && endpoint.serverCertificate.length > 0),
      userIdentityTokens: (endpoint.userIdentityTokens ?? []).map((token) => ({
        policyId: token.policyId,
        tokenType: enumName(UserTokenType, token.tokenType),
        securityPolicyUri: token.securityPolicyUri || null,
      })),
    })),
  };
}

const SESSION_OPERATIONS = { browse, read, write, subscribe, call, historyRead };

// ---- the job ------------------------------------------------------------------------------------------

function userIdentity(user) {
  if (!user) return { type: UserTokenType.Anonymous };
  if (user.userName !== undefined) {
    return { type: UserTokenType.UserName, userName: user.userName, password: user.password ?? "" };
  }
  if (user.certificate) {
    return {
      type: UserTokenType.Certificate,
      certificateData: certificateAsDer(user.certificate),
      privateKey: keyAsPem(user.privateKey),
    };
  }
  throw new JobError(`a user is {"userName", "password"} or {"certificate", "privateKey"}`);
}

async function runJob(job, workDir) {
  if (!job.endpoint) throw new JobError('the job has no "endpoint"');
  const operations = job.operations ?? [];
  const securityPolicy = securityPolicyOf(job.securityPolicy);
  const defaultMode = securityPolicy === SecurityPolicy.None ? "None" : "SignAndEncrypt";
  const securityMode = securityModeOf(job.securityMode ?? defaultMode);
  const options = {
    applicationName: job.applicationName ?? "edge-agent interop client",
    securityPolicy,
    securityMode,
    endpointMustExist: false,
    keepSessionAlive: false,
    requestedSessionTimeout: 60000,
    connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 200 },
    clientCertificateManager: new OPCUACertificateManager({
      rootFolder: job.pkiFolder ?? path.join(workDir, "pki"),
      automaticallyAcceptUnknownCertificate: true,
    }),
  };
  if (job.applicationUri) options.applicationUri = job.applicationUri;
  if (job.certificate) {
    options.certificateFile = path.join(workDir, "client_certificate.pem");
    options.privateKeyFile = path.join(workDir, "client_key.pem");
    fs.writeFileSync(options.certificateFile, certificateAsPem(job.certificate));
    fs.writeFileSync(options.privateKeyFile, keyAsPem(job.privateKey), { mode: 0o600 });
  }
  await options.clientCertificateManager.initialize();
  const client = OPCUAClient.create(options);

  try {
    await client.connect(job.endpoint);
  } catch (err) {
    return { ok: false, error: errorInfo(err, "connect") };
  }
  const needsSession = operations.some((op) => op.op !== "getEndpoints");
  let session = null;
  try {
    if (needsSession) {
      try {
        session = await client.createSession(userIdentity(job.user));
      } catch (err) {
        if (err instanceof JobError) throw err;
        return { ok: false, error: errorInfo(err, "session") };
      }
    }
    const uris = session ? await session.readNamespaceArray() : ["http://opcfoundation.org/UA/"];
    const ns = new Namespaces(uris);
    emitEvent({ event: "connected", session: Boolean(session) });
    const results = [];
    for (const [index, op] of operations.entries()) {
      try {
        if (op.op === "getEndpoints") {
          results.push({ op: op.op, ...(await getEndpoints(client)) });
        } else if (SESSION_OPERATIONS[op.op]) {
          results.push({ op: op.op, ...(await SESSION_OPERATIONS[op.op](session, ns, op, index)) });
        } else {
          throw new JobError(`unknown operation ${JSON.stringify(op.op)}`);
        }
      } catch (err) {
        results.push({ op: op.op, error: errorInfo(err, err instanceof JobError ? "job" : op.op) });
      }
    }
    return { ok: true, securityPolicy: securityPolicy.split("#")[1], results };
  } finally {
    if (session) await session.close().catch(() => {});
    await client.disconnect().catch(() => {});
  }
}

async function main() {
  let job;
  try {
    job = readJob();
  } catch (err) {
    finish({ ok: false, error: errorInfo(err, "job") });
    return;
  }
  const timeoutMs = job.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const watchdog = setTimeout(() => {
    const message = `no result within ${timeoutMs} ms`;
    finish({ ok: false, error: { stage: "timeout", status: null, message } });
  }, timeoutMs);
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "edge-agent-interop-"));
  let result;
  try {
    result = await runJob(job, workDir);
  } catch (err) {
    result = { ok: false, error: errorInfo(err, err instanceof JobError ? "job" : "client") };
  } finally {
    clearTimeout(watchdog);
    fs.rmSync(workDir, { recursive: true, force: true });
  }
  finish(result);
}

await main();
