/**
 * Request bodies in application/vnd.kubernetes.protobuf, as client-go and kubectl send them for
 * built-in types: the four bytes "k8s\0", then a runtime.Unknown envelope whose typeMeta names
 * the kind and whose raw bytes hold the object's message. The messages and their field numbers
 * are k8s.io/api's (src/proto/k8s-api.json); decoding turns them into the object's JSON shape,
 * so the rest of the server sees what a JSON client would have sent.
 */
import { readFileSync } from "node:fs";
import protobuf from "protobufjs";
import { apiErrors } from "./errors";
import { isRecord } from "./wire";

export const PROTOBUF_MEDIA_TYPE = "application/vnd.kubernetes.protobuf";
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

interface FieldSpec {
  type: string;
  id: number;
  rule?: "repeated";
  keyType?: string;
}

/** Go packages of the API groups whose messages are decoded, by group. */
const PACKAGES: Record<string, string> = {
  "": "k8s.io.api.core.v1",
  apps: "k8s.io.api.apps.v1",
  policy: "k8s.io.api.policy.v1",
  autoscaling: "k8s.io.api.autoscaling.v1",
  "coordination.k8s.io": "k8s.io.api.coordination.v1",
  "authorization.k8s.io": "k8s.io.api.authorization.v1",
  "authentication.k8s.io": "k8s.io.api.authentication.v1",
  "events.k8s.io": "k8s.io.api.events.v1",
};
const META = "k8s.io.apimachinery.pkg.apis.meta.v1";
/** Kinds every group version carries, defined once in meta/v1. */
const META_KINDS = new Set(["DeleteOptions", "Status", "ListOptions"]);

let root: protobuf.Root | undefined;

function loadRoot(): protobuf.Root {
  if (root) return root;
  const data = JSON.parse(readFileSync(new URL("./proto/k8s-api.json", import.meta.url), "utf8")) as { messages: Record<string, Record<string, FieldSpec>> };
  const built = new protobuf.Root();
  for (const [fullName, fields] of Object.entries(data.messages)) {
    const dot = fullName.lastIndexOf(".");
    const type = new protobuf.Type(fullName.slice(dot + 1));
    for (const [name, spec] of Object.entries(fields)) {
      const typeName = spec.type.includes(".") ? `.${spec.type}` : spec.type;
      type.add(spec.keyType ? new protobuf.MapField(name, spec.id, spec.keyType, typeName) : new protobuf.Field(name, spec.id, typeName, spec.rule === "repeated" ? "repeated" : "optional"));
    }
    built.define(fullName.slice(0, dot)).add(type);
  }
  built.resolveAll();
  root = built;
  return built;
}

/** The message that carries a kind of an API version, or undefined when this server does not decode it. */
export function messageFor(apiVersion: string, kind: string): protobuf.Type | undefined {
  const group = apiVersion.includes("/") ? apiVersion.slice(0, apiVersion.indexOf("/")) : "";
  const pkg = META_KINDS.has(kind) ? META : PACKAGES[group];
  if (!pkg) return undefined;
  try {
    return loadRoot().lookupType(`${pkg}.${kind}`);
  } catch {
    return undefined;
  }
}

const RFC3339 = (seconds: number, micros?: number): string => {
  const iso = new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, "");
  return micros === undefined ? `${iso}Z` : `${iso}.${String(micros).padStart(6, "0")}Z`;
};

const has = (values: Record<string, unknown>, key: string) => Object.prototype.hasOwnProperty.call(values, key);

/** Non-pointer fields tagged omitempty, whose zero value JSON omits (and protobuf always carries). */
const ZERO_OMITTED = new Set([
  "ObjectMeta.generation",
  "Container.stdin",
  "Container.stdinOnce",
  "Container.tty",
  "EphemeralContainerCommon.stdin",
  "EphemeralContainerCommon.stdinOnce",
  "EphemeralContainerCommon.tty",
  "PodSpec.hostNetwork",
  "PodSpec.hostPID",
  "PodSpec.hostIPC",
  "DeploymentSpec.minReadySeconds",
  "DeploymentSpec.paused",
  "ReplicaSetSpec.minReadySeconds",
  "DaemonSetSpec.minReadySeconds",
  "NodeSpec.unschedulable",
  "ContainerPort.hostPort",
]);

const toNumber = (value: unknown): number => (typeof value === "number" ? value : Number(String(value)));

/** A decoded message in the object's JSON shape, with apimachinery's special types spelled as JSON spells them. */
function toJson(type: protobuf.Type, message: protobuf.Message<object>): unknown {
  const values = message as unknown as Record<string, unknown>;
  switch (type.fullName) {
    case `.${META}.Time`: {
      // an empty Time is Go's zero time, which JSON leaves out
      if (!has(values, "seconds") && !has(values, "nanos")) return undefined;
      return RFC3339(toNumber(values["seconds"] ?? 0));
    }
    case `.${META}.MicroTime`: {
      if (!has(values, "seconds") && !has(values, "nanos")) return undefined;
      return RFC3339(toNumber(values["seconds"] ?? 0), Math.floor(toNumber(values["nanos"] ?? 0) / 1000));
    }
    case ".k8s.io.apimachinery.pkg.api.resource.Quantity":
      return has(values, "string") ? values["string"] : "0";
    case ".k8s.io.apimachinery.pkg.util.intstr.IntOrString":
      return toNumber(values["type"] ?? 0) === 1 ? (values["strVal"] ?? "") : toNumber(values["intVal"] ?? 0);
    case `.${META}.FieldsV1`: {
      const raw = values["Raw"];
      if (!(raw instanceof Uint8Array) || raw.length === 0) return {};
      return JSON.parse(Buffer.from(raw).toString("utf8")) as unknown;
    }
  }
  const out: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    if (!has(values, field.name)) continue;
    const value = values[field.name];
    const convert = (v: unknown): unknown => {
      if (field.resolvedType instanceof protobuf.Type) return toJson(field.resolvedType, v as protobuf.Message<object>);
      if (field.type === "int64" || field.type === "uint64" || field.type === "sint64" || field.type === "fixed64") return toNumber(v);
      if (field.type === "bytes") return Buffer.from(v as Uint8Array).toString("base64");
      return v;
    };
    let converted: unknown;
    if (field.map) {
      const entries = Object.entries((value ?? {}) as Record<string, unknown>).map(([k, v]) => [k, convert(v)] as const);
      if (entries.length === 0) continue;
      converted = Object.fromEntries(entries);
    } else if (field.repeated) {
      const items = (value as unknown[]).map(convert);
      if (items.length === 0) continue;
      converted = items;
    } else {
      converted = convert(value);
    }
    // Go writes every non-pointer field, zero or not; JSON leaves the empty strings and the zero
    // values of the common non-pointer fields out (a pointer's zero, like replicas: 0, stays)
    if (converted === undefined || converted === "") continue;
    if ((converted === 0 || converted === false) && ZERO_OMITTED.has(`${type.name}.${field.name}`)) continue;
    out[field.name] = converted;
  }
  return out;
}

export interface DecodedObject {
  apiVersion: string;
  kind: string;
  object: Record<string, unknown>;
}

/** Decodes a protobuf request body into the object's JSON shape; 400 when it is not one, 415 for a kind not decoded here. */
export function decodeProtobuf(body: Buffer): DecodedObject {
  if (body.length < MAGIC.length || !body.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw apiErrors.badRequest(`provided data does not appear to be a protobuf message, expected prefix [${[...MAGIC].join(" ")}]`);
  }
  const types = loadRoot();
  const unknown = types.lookupType("k8s.io.apimachinery.pkg.runtime.Unknown");
  let envelope: Record<string, unknown>;
  try {
    envelope = unknown.decode(body.subarray(MAGIC.length)) as unknown as Record<string, unknown>;
  } catch (error) {
    throw apiErrors.badRequest(`unable to decode the protobuf envelope: ${error instanceof Error ? error.message : String(error)}`);
  }
  const typeMeta = isRecord(envelope["typeMeta"]) ? envelope["typeMeta"] : {};
  const apiVersion = typeof typeMeta["apiVersion"] === "string" ? typeMeta["apiVersion"] : "";
  const kind = typeof typeMeta["kind"] === "string" ? typeMeta["kind"] : "";
  const encoding = envelope["contentEncoding"];
  if (typeof encoding === "string" && encoding !== "") throw apiErrors.badRequest(`unsupported content encoding "${encoding}"`);
  const type = messageFor(apiVersion, kind);
  if (!type) {
    throw apiErrors.unsupportedMediaType(`the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (protobuf for ${kind || "this kind"} in ${apiVersion || "this version"} is not served)`);
  }
  const raw = envelope["raw"] instanceof Uint8Array ? (envelope["raw"] as Uint8Array) : new Uint8Array();
  let message: protobuf.Message<object>;
  try {
    message = type.decode(raw);
  } catch (error) {
    throw apiErrors.badRequest(`unable to decode ${kind}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const object = toJson(type, message) as Record<string, unknown>;
  return { apiVersion, kind, object: META_KINDS.has(kind) ? object : { apiVersion, kind, ...object } };
}

/** Encodes an object as a protobuf request body (the envelope and the message), for tests and tools. */
export function encodeProtobuf(apiVersion: string, kind: string, object: Record<string, unknown>): Buffer {
  const type = messageFor(apiVersion, kind);
  if (!type) throw new Error(`no protobuf message for ${apiVersion} ${kind}`);
  const raw = type.encode(fromJson(type, object) as protobuf.Message<object>).finish();
  const unknown = loadRoot().lookupType("k8s.io.apimachinery.pkg.runtime.Unknown");
  const envelope = unknown.encode(unknown.create({ typeMeta: { apiVersion, kind }, raw, contentEncoding: "", contentType: "" })).finish();
  return Buffer.concat([MAGIC, envelope]);
}

function fromJson(type: protobuf.Type, value: unknown): unknown {
  switch (type.fullName) {
    case `.${META}.Time`:
    case `.${META}.MicroTime`: {
      const ms = Date.parse(String(value));
      return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
    }
    case ".k8s.io.apimachinery.pkg.api.resource.Quantity":
      return { string: String(value) };
    case ".k8s.io.apimachinery.pkg.util.intstr.IntOrString":
      return typeof value === "string" ? { type: 1, strVal: value } : { type: 0, intVal: value };
    case `.${META}.FieldsV1`:
      return { Raw: Buffer.from(JSON.stringify(value)) };
  }
  const record = isRecord(value) ? value : {};
  const out: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    const v = record[field.name];
    if (v === undefined || v === null) continue;
    const nested = field.resolvedType;
    const convert = (item: unknown) => (nested instanceof protobuf.Type ? fromJson(nested, item) : item);
    if (field.map) out[field.name] = Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, item]) => [k, convert(item)]));
    else if (field.repeated) out[field.name] = (v as unknown[]).map(convert);
    else out[field.name] = convert(v);
  }
  return type.fromObject(out);
}
