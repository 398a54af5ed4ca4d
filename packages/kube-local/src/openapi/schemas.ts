/**
 * The OpenAPI schemas of the served kinds, generated at start-up from the model metadata that
 * @kubernetes/client-node ships (its classes' attribute maps: names, types and formats; its type
 * declarations: the upstream descriptions and which fields are required). Definitions are named as
 * kube-apiserver names them (io.k8s.api.core.v1.Pod) and carry the extensions kubectl reads:
 * x-kubernetes-group-version-kind on kinds, and the patch strategy and merge key of lists.
 */
import * as k8s from "@kubernetes/client-node";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { PATCH_SCHEMAS } from "../patch";

export interface JsonSchema {
  type?: string;
  format?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  additionalProperties?: JsonSchema | boolean;
  $ref?: string;
  [extension: `x-${string}`]: unknown;
}

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

/** A kind this server describes: its model class in @kubernetes/client-node and where it is served. */
export interface DescribedKind extends GroupVersionKind {
  model: string;
}

interface Attribute {
  name: string;
  baseName: string;
  type: string;
  format: string;
}

type ModelClass = { attributeTypeMap?: Attribute[] };

const META_PACKAGE = "io.k8s.apimachinery.pkg.apis.meta.v1";
/** apimachinery's meta/v1 types among the models (everything else belongs to the group that first reaches it). */
const META_MODELS = new Set([
  "V1ObjectMeta",
  "V1ListMeta",
  "V1LabelSelector",
  "V1LabelSelectorRequirement",
  "V1OwnerReference",
  "V1ManagedFieldsEntry",
  "V1DeleteOptions",
  "V1Preconditions",
  "V1Status",
  "V1StatusDetails",
  "V1StatusCause",
  "V1Condition",
]);
const INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";
const PATCH = `${META_PACKAGE}.Patch`;

function packageOf(group: string, version: string): string {
  if (group === "") return `io.k8s.api.core.${version}`;
  const short = group.endsWith(".k8s.io") ? group.slice(0, -".k8s.io".length) : group;
  return `io.k8s.api.${short}.${version}`;
}

/** The definition's short name: V1Pod -> Pod, CoreV1Event and EventsV1Event -> Event. */
function shortName(model: string): string {
  return model.replace(/^(Core|Events|Authentication|Authorization|Storage|Discovery|Flowcontrol|Networking|Rbac|Admissionregistration)?V1/, "");
}

interface DeclaredModel {
  description?: string;
  properties: Map<string, { description?: string; optional: boolean }>;
}

const modelsDir = (() => {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve("@kubernetes/client-node")), "gen", "models");
})();

/** The doc comments and optionality of a model's fields, read from its type declaration. */
function declared(model: string): DeclaredModel {
  let text: string;
  try {
    text = readFileSync(join(modelsDir, `${model}.d.ts`), "utf8");
  } catch {
    return { properties: new Map() };
  }
  const comment = (raw: string | undefined) =>
    raw
      ?.split("\n")
      .map((line) => line.replace(/^\s*\*\s?/, "").trim())
      .filter(Boolean)
      .join(" ")
      // the declarations escape quotes inside comments
      .replace(/\\(['"])/g, "$1");
  const classMatch = /\/\*\*\s*\n\*\s?([\s\S]*?)\n\*\/\s*\nexport declare class /.exec(text);
  const properties = new Map<string, { description?: string; optional: boolean }>();
  const property = /(?:\/\*\*\s*\n([\s\S]*?)\*\/\s*\n)?\s*'([^']+)'(\?)?:/g;
  const body = text.slice(text.indexOf("export declare class"));
  for (const match of body.matchAll(property)) {
    const description = comment(match[1]);
    properties.set(match[2] ?? "", { ...(description ? { description } : {}), optional: match[3] === "?" });
  }
  const description = comment(classMatch?.[1]);
  return { ...(description ? { description } : {}), properties };
}

export interface SchemaSet {
  /** Definitions by name, with $refs written as `#/components/schemas/<name>`. */
  definitions: Map<string, JsonSchema>;
  /** The definition name of each described kind, by `group/version/kind`. */
  kinds: Map<string, string>;
}

const gvkKey = (gvk: GroupVersionKind) => `${gvk.group}/${gvk.version}/${gvk.kind}`;
export const REF_PREFIX = "#/components/schemas/";

/** Builds the definitions reachable from the described kinds. */
export function buildSchemas(kinds: readonly DescribedKind[], extraKinds: Record<string, GroupVersionKind[]> = {}): SchemaSet {
  const definitions = new Map<string, JsonSchema>();
  const names = new Map<string, string>();
  const models = k8s as unknown as Record<string, ModelClass | undefined>;
  const pending: { model: string; pkg: string }[] = [];

  const nameOf = (model: string, pkg: string): string => {
    const known = names.get(model);
    if (known) return known;
    const name = `${META_MODELS.has(model) ? META_PACKAGE : pkg}.${shortName(model)}`;
    names.set(model, name);
    pending.push({ model, pkg });
    return name;
  };

  const resolve = (type: string, format: string, pkg: string): JsonSchema => {
    const array = /^Array<(.+)>$/.exec(type);
    if (array) return { type: "array", items: resolve(array[1] ?? "any", format, pkg) };
    const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
    if (map) return { type: "object", additionalProperties: resolve(map[1] ?? "any", "", pkg) };
    switch (type) {
      case "string":
        return { type: "string", ...(format ? { format } : {}) };
      case "number":
        return format === "double" || format === "float" ? { type: "number", format } : { type: "integer", ...(format ? { format } : {}) };
      case "boolean":
        return { type: "boolean" };
      case "Date":
      case "V1MicroTime":
        return { type: "string", format: "date-time" };
      case "IntOrString":
        return { $ref: `${REF_PREFIX}${INT_OR_STRING}` };
      case "any":
      case "object":
        return { type: "object", "x-kubernetes-preserve-unknown-fields": true };
    }
    if (models[type]?.attributeTypeMap) return { $ref: `${REF_PREFIX}${nameOf(type, pkg)}` };
    return { type: "object", "x-kubernetes-preserve-unknown-fields": true };
  };

  const drain = () => {
    while (pending.length > 0) {
      const { model, pkg } = pending.shift()!;
      const name = names.get(model)!;
      const attributes = models[model]?.attributeTypeMap ?? [];
      const doc = declared(model);
      const properties: Record<string, JsonSchema> = {};
      const required: string[] = [];
      for (const attribute of attributes) {
        const schema = resolve(attribute.type, attribute.format, name.slice(0, name.lastIndexOf(".")));
        const fieldDoc = doc.properties.get(attribute.name);
        // a $ref stands alone in v2; its description is the referenced type's
        properties[attribute.baseName] = fieldDoc?.description && !schema.$ref ? { ...schema, description: fieldDoc.description } : schema;
        if (fieldDoc && !fieldDoc.optional) required.push(attribute.baseName);
      }
      definitions.set(name, {
        ...(doc.description ? { description: doc.description } : {}),
        type: "object",
        properties,
        ...(required.length > 0 ? { required } : {}),
      });
      void pkg;
    }
  };

  // meta first, then core, then the other groups: a type belongs to the first package that reaches it
  for (const model of META_MODELS) nameOf(model, META_PACKAGE);
  drain();
  const ordered = [...kinds].sort((a, b) => Number(a.group !== "") - Number(b.group !== ""));
  const kindNames = new Map<string, string>();
  for (const kind of ordered) {
    const name = nameOf(kind.model, packageOf(kind.group, kind.version));
    drain();
    kindNames.set(gvkKey(kind), name);
    const definition = definitions.get(name)!;
    const list = (definition["x-kubernetes-group-version-kind"] as GroupVersionKind[] | undefined) ?? [];
    list.push({ group: kind.group, kind: kind.kind, version: kind.version });
    definition["x-kubernetes-group-version-kind"] = list;
    addPatchExtensions(definitions, name, kind.kind);
  }
  for (const [model, gvks] of Object.entries(extraKinds)) {
    const definition = definitions.get(names.get(model) ?? "");
    if (definition) definition["x-kubernetes-group-version-kind"] = gvks;
  }
  definitions.set(INT_OR_STRING, {
    description:
      "IntOrString is a type that can hold an int32 or a string.  When used in JSON or YAML marshalling and unmarshalling, it produces or consumes the inner type.  This allows you to have, for example, a JSON field that can accept a name or number.",
    type: "string",
    format: "int-or-string",
  });
  definitions.set(PATCH, { description: "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.", type: "object" });
  return { definitions, kinds: kindNames };
}

/** x-kubernetes-patch-strategy and -merge-key on the lists the strategic merge patch merges. */
function addPatchExtensions(definitions: Map<string, JsonSchema>, root: string, kind: string): void {
  const schema = PATCH_SCHEMAS[kind];
  if (!schema) return;
  for (const [path, strategy] of Object.entries(schema)) {
    if (strategy.kind === "replace") continue;
    let current = definitions.get(root);
    const segments = path.split(".");
    let target: JsonSchema | undefined;
    for (const [i, raw] of segments.entries()) {
      const list = raw.endsWith("[]");
      const field = list ? raw.slice(0, -2) : raw;
      const property = current?.properties?.[field];
      if (!property) break;
      if (i === segments.length - 1) {
        target = property;
        break;
      }
      const next = list ? property.items : property;
      current = next?.$ref ? definitions.get(next.$ref.slice(REF_PREFIX.length)) : next;
    }
    if (!target || target.type !== "array") continue;
    target["x-kubernetes-patch-strategy"] = "merge";
    if (strategy.kind === "merge") target["x-kubernetes-patch-merge-key"] = strategy.mergeKey;
  }
}

/** The fields of `value` that the schema does not declare, as `spec.template.spec.containers[0].imagee`. */
export function unknownFields(definitions: Map<string, JsonSchema>, schema: JsonSchema | undefined, value: unknown, path = ""): string[] {
  if (!schema) return [];
  if (schema.$ref) return unknownFields(definitions, definitions.get(schema.$ref.slice(REF_PREFIX.length)), value, path);
  if (schema["x-kubernetes-preserve-unknown-fields"]) return [];
  if (Array.isArray(value)) return schema.items ? value.flatMap((item, i) => unknownFields(definitions, schema.items, item, `${path}[${i}]`)) : [];
  if (typeof value !== "object" || value === null) return [];
  const out: string[] = [];
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    const childPath = path ? `${path}.${key}` : key;
    if (schema.properties) {
      const property = schema.properties[key];
      if (!property) out.push(childPath);
      else out.push(...unknownFields(definitions, property, child, childPath));
    } else if (typeof schema.additionalProperties === "object") {
      out.push(...unknownFields(definitions, schema.additionalProperties, child, childPath));
    }
  }
  return out;
}
