/**
 * Regenerates src/proto/k8s-api.json: the protobuf messages kube-local decodes, with k8s.io/api's
 * field numbers. Go binaries built with the Kubernetes API packages (kubectl among them) carry
 * each generated.proto as a gzipped FileDescriptorProto; this reads them from such a binary,
 * keeps the messages reachable from the served kinds, and writes protobufjs' JSON form.
 *
 *   npx tsx packages/kube-local/tools/proto-descriptor.ts "$(command -v kubectl)"
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import protobuf from "protobufjs";
import descriptorModule from "protobufjs/ext/descriptor/index.js";

// protobufjs' descriptor extension is CommonJS without precise types
const descriptor = descriptorModule as unknown as {
  FileDescriptorProto: { decode(bytes: Uint8Array): { name: string } };
  FileDescriptorSet: { create(value: { file: unknown[] }): unknown };
};
const fromDescriptor = (protobuf.Root as unknown as { fromDescriptor(set: unknown): protobuf.Root }).fromDescriptor;

const FILES = [
  "k8s.io/apimachinery/pkg/runtime/generated.proto",
  "k8s.io/apimachinery/pkg/runtime/schema/generated.proto",
  "k8s.io/apimachinery/pkg/api/resource/generated.proto",
  "k8s.io/apimachinery/pkg/util/intstr/generated.proto",
  "k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto",
  "k8s.io/api/core/v1/generated.proto",
  "k8s.io/api/apps/v1/generated.proto",
  "k8s.io/api/policy/v1/generated.proto",
  "k8s.io/api/autoscaling/v1/generated.proto",
  "k8s.io/api/coordination/v1/generated.proto",
  "k8s.io/api/authorization/v1/generated.proto",
  "k8s.io/api/authentication/v1/generated.proto",
  "k8s.io/api/events/v1/generated.proto",
];
const ROOTS = [
  "k8s.io.apimachinery.pkg.runtime.Unknown",
  "k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions",
  "k8s.io.apimachinery.pkg.apis.meta.v1.Status",
  "k8s.io.api.core.v1.Namespace",
  "k8s.io.api.core.v1.Node",
  "k8s.io.api.core.v1.Pod",
  "k8s.io.api.core.v1.Event",
  "k8s.io.api.apps.v1.Deployment",
  "k8s.io.api.apps.v1.ReplicaSet",
  "k8s.io.api.apps.v1.DaemonSet",
  "k8s.io.api.policy.v1.Eviction",
  "k8s.io.api.policy.v1.PodDisruptionBudget",
  "k8s.io.api.autoscaling.v1.Scale",
  "k8s.io.api.coordination.v1.Lease",
  "k8s.io.api.authorization.v1.SelfSubjectAccessReview",
  "k8s.io.api.authorization.v1.SelfSubjectRulesReview",
  "k8s.io.api.authentication.v1.SelfSubjectReview",
  "k8s.io.api.events.v1.Event",
];

const binary = readFileSync(process.argv[2] ?? "/usr/bin/kubectl");
const found = new Map<string, { name: string }>();
const magic = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00]);
for (let at = binary.indexOf(magic); at >= 0; at = binary.indexOf(magic, at + 1)) {
  let bytes: Buffer;
  try {
    bytes = gunzipSync(binary.subarray(at, at + 4_000_000), { finishFlush: 2 });
  } catch {
    continue;
  }
  let file: { name: string };
  try {
    file = descriptor.FileDescriptorProto.decode(bytes);
  } catch {
    continue;
  }
  if (FILES.includes(file.name) && !found.has(file.name)) found.set(file.name, file);
}
const missing = FILES.filter((f) => !found.has(f));
if (missing.length > 0) throw new Error(`not in the binary: ${missing.join(", ")}`);

const set = descriptor.FileDescriptorSet.create({ file: FILES.map((f) => found.get(f)) });
const root = fromDescriptor(set);
root.resolveAll();

// keep what the roots reach
const keep = new Set<string>();
const visit = (type: protobuf.Type): void => {
  if (keep.has(type.fullName)) return;
  keep.add(type.fullName);
  for (const field of type.fieldsArray) {
    if (field.resolvedType instanceof protobuf.Type) visit(field.resolvedType);
  }
};
for (const name of ROOTS) visit(root.lookupType(name));

const out: Record<string, Record<string, unknown>> = {};
for (const fullName of [...keep].sort()) {
  const type = root.lookupType(fullName);
  const fields: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    fields[field.name] = {
      ...(field instanceof protobuf.MapField ? { keyType: field.keyType } : {}),
      ...(field.repeated ? { rule: "repeated" } : {}),
      type: field.resolvedType ? field.resolvedType.fullName.slice(1) : field.type,
      id: field.id,
    };
  }
  out[fullName.slice(1)] = fields;
}
const target = fileURLToPath(new URL("../src/proto/k8s-api.json", import.meta.url));
writeFileSync(target, `${JSON.stringify({ source: "k8s.io/api and k8s.io/apimachinery generated.proto (field numbers as upstream)", messages: out }, null, 1)}\n`);
console.log(`${keep.size} messages -> ${target}`);
