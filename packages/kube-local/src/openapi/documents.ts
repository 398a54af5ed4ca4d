/**
 * /openapi/v2 and /openapi/v3: the OpenAPI documents of the served API, laid out as
 * kube-apiserver serves them. v3 is a discovery document naming one document per group version
 * (fetched by hash); v2 is one Swagger document, in JSON or in the protobuf form kubectl asks for.
 * Each write operation declares the dryRun, fieldManager and fieldValidation parameters, which is
 * how kubectl learns that this server validates fields itself.
 */
import { createHash } from "node:crypto";
import { apiVersionOf, isReview, modelOf, RESOURCES, type ResourceType } from "../resources";
import { SERVER_VERSION } from "../discovery";
import { buildSchemas, REF_PREFIX, type DescribedKind, type GroupVersionKind, type JsonSchema, type SchemaSet, unknownFields } from "./schemas";

type Operation = Record<string, unknown>;
type PathItem = Record<string, unknown>;

const META = "io.k8s.apimachinery.pkg.apis.meta.v1";
const STATUS = `${META}.Status`;
const PATCH_TYPES = ["application/apply-patch+yaml", "application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json"];
const PRODUCES = ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"];

const QUERY: Record<string, string> = {
  dryRun:
    "When present, indicates that modifications should not be persisted. An invalid or unrecognized dryRun directive will result in an error response and no further processing of the request. Valid values are: - All: all dry run stages will be processed",
  fieldManager:
    "fieldManager is a name associated with the actor or entity that is making these changes. The value must be less than or 128 characters long, and only contain printable characters, as defined by https://golang.org/pkg/unicode/#IsPrint.",
  fieldValidation:
    "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore: This will ignore any unknown fields that are silently dropped from the object, and will ignore all but the last duplicate field that the decoder encounters. This is the default behavior prior to v1.23. - Warn: This will send a warning via the standard warning response header for each unknown field that is dropped from the object, and for each duplicate field that is encountered. The request will still succeed if there are no other errors, and will only persist the last of any duplicate fields. This is the default in v1.23+ - Strict: This will fail the request with a BadRequest error if any unknown fields would be dropped from the object, or if any duplicate fields are present. The error returned from the server will contain all unknown and duplicate fields encountered.",
  force:
    "Force is going to \"force\" Apply requests. It means user will re-acquire conflicting fields owned by other people. Force flag must be unset for non-apply patch requests.",
  pretty: "If 'true', then the output is pretty printed.",
  labelSelector: "A selector to restrict the list of returned objects by their labels. Defaults to everything.",
  fieldSelector: "A selector to restrict the list of returned objects by their fields. Defaults to everything.",
  limit: "limit is a maximum number of responses to return for a list call.",
  continue: "The continue option should be set when retrieving more results from the server.",
  resourceVersion: "resourceVersion sets a constraint on what resource versions a request may be served from.",
  watch: "Watch for changes to the described resources and return them as a stream of add, update, and remove notifications.",
  gracePeriodSeconds: "The duration in seconds before the object should be deleted. Value must be non-negative integer.",
  propagationPolicy: "Whether and how garbage collection will be performed.",
};

/** Kinds described besides the stored resources: subresource bodies and options. */
const EXTRA_KINDS: DescribedKind[] = [
  { group: "policy", version: "v1", kind: "Eviction", model: "V1Eviction" },
  { group: "autoscaling", version: "v1", kind: "Scale", model: "V1Scale" },
];
const DELETE_OPTIONS_GVKS: GroupVersionKind[] = [
  "",
  "apps",
  "policy",
  "autoscaling",
  "coordination.k8s.io",
  "events.k8s.io",
  "authorization.k8s.io",
  "authentication.k8s.io",
].map((group) => ({ group, version: "v1", kind: "DeleteOptions" }));

let cached: { schemas: SchemaSet; v3: Map<string, Record<string, unknown>>; v2: Record<string, unknown> } | undefined;

function describedKinds(): DescribedKind[] {
  const kinds = RESOURCES.map((r) => ({ group: r.group, version: r.version, kind: r.kind, model: modelOf(r.group, r.kind) }));
  return [...kinds, ...EXTRA_KINDS, { group: "", version: "v1", kind: "DeleteOptions", model: "V1DeleteOptions" }];
}

function schemas(): SchemaSet {
  return build().schemas;
}

const ref = (name: string): JsonSchema => ({ $ref: `${REF_PREFIX}${name}` });
const param = (name: string, where: "query" | "path", required = false): Record<string, unknown> => ({
  name,
  in: where,
  ...(QUERY[name] ? { description: QUERY[name] } : { description: `${name} of the object` }),
  ...(required ? { required: true } : {}),
  schema: { type: name === "gracePeriodSeconds" || name === "limit" ? "integer" : name === "force" || name === "watch" ? "boolean" : "string", uniqueItems: true },
});

function prefixOf(r: { group: string; version: string }): string {
  return r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
}

function tagOf(r: { group: string; version: string }): string {
  const group = r.group ? r.group.replace(/\.k8s\.io$/, "").replace(/\./g, "") : "core";
  return `${group}_${r.version}`;
}

/** The operations of one resource (and its subresources), keyed by path, in the v3 layout. */
function pathsOf(r: ResourceType, kinds: Map<string, string>): Record<string, PathItem> {
  const prefix = prefixOf(r);
  const gvk = { group: r.group, version: r.version, kind: r.kind };
  const definition = kinds.get(`${r.group}/${r.version}/${r.kind}`) ?? "";
  const listDefinition = `${definition}List`;
  const kindName = r.kind;
  const scope = r.namespaced ? "Namespaced" : "";
  const op = (action: string, id: string, description: string, extra: { body?: JsonSchema; bodyTypes?: string[]; params?: string[]; response?: JsonSchema; gvk?: GroupVersionKind }): Operation => ({
    tags: [tagOf(r)],
    description,
    operationId: id,
    ...(extra.params?.length ? { parameters: extra.params.map((p) => param(p, "query")) } : {}),
    ...(extra.body ? { requestBody: { content: Object.fromEntries((extra.bodyTypes ?? ["*/*"]).map((t) => [t, { schema: extra.body }])), required: true } } : {}),
    responses: { "200": { description: "OK", content: Object.fromEntries(PRODUCES.map((t) => [t, { schema: extra.response ?? ref(definition) }])) }, "401": { description: "Unauthorized" } },
    "x-kubernetes-action": action,
    "x-kubernetes-group-version-kind": extra.gvk ?? gvk,
  });
  const write = ["dryRun", "fieldManager", "fieldValidation"];
  const paths: Record<string, PathItem> = {};
  const collection = r.namespaced ? `${prefix}/namespaces/{namespace}/${r.plural}` : `${prefix}/${r.plural}`;
  const pathParams = (withName: boolean) => [...(withName ? [param("name", "path", true)] : []), ...(r.namespaced ? [param("namespace", "path", true)] : []), param("pretty", "query")];
  const item = `${collection}/{name}`;
  const version = `${r.version[0]?.toUpperCase()}${r.version.slice(1)}`;
  const group = r.group ? r.group.split(".").map((part, i) => (i === 0 ? part : `${part[0]?.toUpperCase()}${part.slice(1)}`)).join("").replace(/K8sIo$/, "") : "Core";
  const idPart = `${group[0]?.toUpperCase()}${group.slice(1)}${version}`;

  const collectionOps: PathItem = { parameters: pathParams(false) };
  if (r.verbs.includes("list")) collectionOps["get"] = op("list", `list${idPart}${scope}${kindName}`, `list or watch objects of kind ${kindName}`, { params: ["labelSelector", "fieldSelector", "limit", "continue", "resourceVersion", "watch"], response: ref(listDefinition) });
  if (r.verbs.includes("create")) collectionOps["post"] = op("post", `create${idPart}${scope}${kindName}`, `create a ${kindName}`, { body: ref(definition), params: write });
  if (r.verbs.includes("deletecollection")) collectionOps["delete"] = op("deletecollection", `deletecollection${idPart}${scope}${kindName}`, `delete collection of ${kindName}`, { body: ref(`${META}.DeleteOptions`), params: ["dryRun", "gracePeriodSeconds", "propagationPolicy", "labelSelector", "fieldSelector"], response: ref(STATUS) });
  paths[collection] = collectionOps;
  if (r.namespaced && r.verbs.includes("list")) {
    paths[`${prefix}/${r.plural}`] = { get: op("list", `list${idPart}${kindName}ForAllNamespaces`, `list or watch objects of kind ${kindName}`, { params: ["labelSelector", "fieldSelector", "limit", "continue", "resourceVersion", "watch"], response: ref(listDefinition) }) };
  }
  if (isReview(r)) return paths;
  paths[item] = {
    parameters: pathParams(true),
    get: op("get", `read${idPart}${scope}${kindName}`, `read the specified ${kindName}`, {}),
    put: op("put", `replace${idPart}${scope}${kindName}`, `replace the specified ${kindName}`, { body: ref(definition), params: write }),
    patch: op("patch", `patch${idPart}${scope}${kindName}`, `partially update the specified ${kindName}`, { body: ref(`${META}.Patch`), bodyTypes: PATCH_TYPES, params: [...write, "force"] }),
    delete: op("delete", `delete${idPart}${scope}${kindName}`, `delete a ${kindName}`, { body: ref(`${META}.DeleteOptions`), params: ["dryRun", "gracePeriodSeconds", "propagationPolicy"], response: ref(STATUS) }),
  };
  for (const sub of r.subresources) {
    const subGvk = { group: sub.group ?? r.group, version: sub.version ?? r.version, kind: sub.kind };
    const subDefinition = kinds.get(`${subGvk.group}/${subGvk.version}/${subGvk.kind}`) ?? definition;
    const name = `${kindName}${sub.name[0]?.toUpperCase()}${sub.name.slice(1)}`;
    const ops: PathItem = { parameters: pathParams(true) };
    const extra = { gvk: subGvk, response: ref(subDefinition) };
    if (sub.verbs.includes("get")) ops["get"] = op("get", `read${idPart}${scope}${name}`, `read ${sub.name} of the specified ${kindName}`, extra);
    if (sub.verbs.includes("update")) ops["put"] = op("put", `replace${idPart}${scope}${name}`, `replace ${sub.name} of the specified ${kindName}`, { ...extra, body: ref(subDefinition), params: write });
    if (sub.verbs.includes("patch")) ops["patch"] = op("patch", `patch${idPart}${scope}${name}`, `partially update ${sub.name} of the specified ${kindName}`, { ...extra, body: ref(`${META}.Patch`), bodyTypes: PATCH_TYPES, params: [...write, "force"] });
    if (sub.verbs.includes("create")) ops["post"] = op("post", `create${idPart}${scope}${name}`, `create ${sub.name} of a ${kindName}`, { ...extra, body: ref(subDefinition), params: write });
    paths[`${item}/${sub.name}`] = ops;
  }
  return paths;
}

/** The definitions a document needs: everything its own schemas and paths reach. */
function reachable(definitions: Map<string, JsonSchema>, roots: Iterable<string>): Map<string, JsonSchema> {
  const out = new Map<string, JsonSchema>();
  const visit = (name: string) => {
    if (out.has(name)) return;
    const definition = definitions.get(name);
    if (!definition) return;
    out.set(name, definition);
    JSON.stringify(definition, (key, value: unknown) => {
      if (key === "$ref" && typeof value === "string") visit(value.slice(REF_PREFIX.length));
      return value;
    });
  };
  for (const name of roots) visit(name);
  return out;
}

function build(): NonNullable<typeof cached> {
  if (cached) return cached;
  const kinds = describedKinds();
  const set = buildSchemas(kinds, { V1DeleteOptions: DELETE_OPTIONS_GVKS });
  // list kinds (PodList) for list responses
  for (const [, name] of [...set.kinds]) {
    if (set.definitions.has(`${name}List`)) continue;
    set.definitions.set(`${name}List`, {
      description: `${name.slice(name.lastIndexOf(".") + 1)}List is a list of ${name.slice(name.lastIndexOf(".") + 1)} objects.`,
      type: "object",
      required: ["items"],
      properties: {
        apiVersion: { type: "string", description: "APIVersion defines the versioned schema of this representation of an object." },
        items: { type: "array", items: ref(name), description: "List of objects." },
        kind: { type: "string", description: "Kind is a string value representing the REST resource this object represents." },
        metadata: ref(`${META}.ListMeta`),
      },
    });
  }
  const byGroupVersion = new Map<string, ResourceType[]>();
  for (const r of RESOURCES) {
    const key = apiVersionOf(r);
    byGroupVersion.set(key, [...(byGroupVersion.get(key) ?? []), r]);
  }
  const v3 = new Map<string, Record<string, unknown>>();
  const allPaths: Record<string, PathItem> = {};
  for (const [gv, resources] of byGroupVersion) {
    const paths: Record<string, PathItem> = {};
    for (const r of resources) Object.assign(paths, pathsOf(r, set.kinds));
    Object.assign(allPaths, paths);
    const roots = new Set<string>([STATUS, `${META}.Patch`, `${META}.DeleteOptions`]);
    JSON.stringify(paths, (key, value: unknown) => {
      if (key === "$ref" && typeof value === "string") roots.add(value.slice(REF_PREFIX.length));
      return value;
    });
    const path = gv.includes("/") ? `apis/${gv}` : `api/${gv}`;
    v3.set(path, {
      openapi: "3.0.0",
      info: { title: "Kubernetes", version: SERVER_VERSION.gitVersion },
      paths,
      components: { schemas: Object.fromEntries([...reachable(set.definitions, roots)].sort(([a], [b]) => a.localeCompare(b))) },
    });
  }
  cached = { schemas: set, v3, v2: toSwagger(allPaths, set.definitions) };
  return cached;
}

/** The v3 discovery document: each group version's document and the hash that names its content. */
export function openApiV3Discovery(): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const [path, doc] of build().v3) paths[path] = { serverRelativeURL: `/openapi/v3/${path}?hash=${hashOf(doc)}` };
  return { paths };
}

const hashes = new WeakMap<object, string>();
function hashOf(doc: object): string {
  let hash = hashes.get(doc);
  if (!hash) {
    hash = createHash("sha512").update(JSON.stringify(doc)).digest("hex").toUpperCase().slice(0, 128);
    hashes.set(doc, hash);
  }
  return hash;
}

/** One group version's v3 document, or undefined when it is not served. */
export function openApiV3Document(path: string): { document: Record<string, unknown>; hash: string } | undefined {
  const document = build().v3.get(path);
  return document ? { document, hash: hashOf(document) } : undefined;
}

export function openApiV2Document(): Record<string, unknown> {
  return build().v2;
}

/** The Swagger 2.0 form of the same operations and definitions. */
function toSwagger(paths: Record<string, PathItem>, definitions: Map<string, JsonSchema>): Record<string, unknown> {
  const v2Ref = (value: unknown): unknown =>
    JSON.parse(JSON.stringify(value).replaceAll(`"${REF_PREFIX}`, '"#/definitions/')) as unknown;
  const convertParam = (p: Record<string, unknown>) => {
    const { schema, ...rest } = p as { schema: Record<string, unknown> };
    return { ...rest, ...schema };
  };
  const out: Record<string, unknown> = {};
  for (const [path, item] of Object.entries(paths)) {
    const converted: Record<string, unknown> = {};
    for (const [method, value] of Object.entries(item)) {
      if (method === "parameters") {
        converted[method] = (value as Record<string, unknown>[]).map(convertParam);
        continue;
      }
      const operation = value as Record<string, unknown>;
      const { requestBody, responses, parameters, ...rest } = operation as { requestBody?: { content: Record<string, { schema: unknown }> }; responses: Record<string, { description: string; content?: Record<string, { schema: unknown }> }>; parameters?: Record<string, unknown>[] };
      const consumes = requestBody ? Object.keys(requestBody.content) : ["*/*"];
      const body = requestBody ? [{ name: "body", in: "body", required: true, schema: Object.values(requestBody.content)[0]?.schema }] : [];
      converted[method] = {
        ...rest,
        consumes,
        produces: PRODUCES,
        schemes: ["https"],
        parameters: [...body, ...(parameters ?? []).map(convertParam)],
        responses: Object.fromEntries(Object.entries(responses).map(([code, r]) => [code, { description: r.description, ...(r.content ? { schema: Object.values(r.content)[0]?.schema } : {}) }])),
      };
    }
    out[path] = converted;
  }
  return v2Ref({
    swagger: "2.0",
    info: { title: "Kubernetes", version: SERVER_VERSION.gitVersion },
    paths: out,
    definitions: Object.fromEntries([...definitions].sort(([a], [b]) => a.localeCompare(b))),
    securityDefinitions: { BearerToken: { description: "Bearer Token authentication", type: "apiKey", name: "authorization", in: "header" } },
    security: [{ BearerToken: [] }],
  }) as Record<string, unknown>;
}

/** The fields of an object that its kind's schema does not declare (for fieldValidation). */
export function undeclaredFields(group: string, version: string, kind: string, object: unknown): string[] {
  const set = schemas();
  const name = set.kinds.get(`${group}/${version}/${kind}`);
  if (!name) return [];
  return unknownFields(set.definitions, set.definitions.get(name), object);
}
