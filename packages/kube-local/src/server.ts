/**
 * The HTTP front of kube-local: authentication, authorization, fault injection, routing onto the
 * registry, content negotiation (JSON, Table, PartialObjectMetadata) and watch streams.
 */
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { allows, type Authenticator, forbiddenError, type Identity } from "./auth";
import { review } from "./reviews";
import { managerOf, validateFieldManager, type Manager } from "./managed-fields";
import { getScale, patchScale, updateScale } from "./scale";
import { apiGroup, apiGroupList, apiResourceList, coreVersions, versionInfo } from "./discovery";
import { ApiError, apiErrors, statusBody, successStatus, type Status, type StatusReason } from "./errors";
import { deleteOptionsFromJson, deleteOptionsFromQuery } from "./delete-options";
import { evictPod } from "./eviction";
import type { FaultInjector } from "./faults";
import { FLOW_CONTROL_REJECTION, FLOW_SCHEMA_UID, FlowControl, PRIORITY_LEVEL_UID } from "./flow-control";
import type { ListOptions, PatchType, Registry } from "./registry";
import { apiVersionOf, isReview, type ResourceType, type Verb } from "./resources";
import { routeOf, verbOf, type Route } from "./routes";
import type { StoredChange } from "./store";
import type { DeleteOptions } from "./strategies";
import { toTable, type IncludeObject } from "./tables";
import * as v from "./validation";
import { isRecord, type KubeObject } from "./wire";
import { parse as parseYaml } from "yaml";
import { openApiV2Document, openApiV3Discovery, openApiV3Document, undeclaredFields } from "./openapi/documents";
import { encodeSwaggerProto } from "./openapi/gnostic";
import { decodeProtobuf, PROTOBUF_MEDIA_TYPE } from "./protobuf";

export interface RequestRecord {
  method: string;
  path: string;
  verb?: string | undefined;
  resource?: string | undefined;
  namespace?: string | undefined;
  name?: string | undefined;
  status: number;
  /** A Status answer's reason and its causes' reasons (e.g. TooManyRequests with DisruptionBudget): what a client tells apart by. */
  reason?: string | undefined;
  causes?: string[] | undefined;
  ms: number;
}

/** Request counters, for assertions and for benchmarks (API calls per node). */
export class RequestStats {
  total = 0;
  readonly byRoute = new Map<string, number>();
  /** Answers by HTTP status, over every request (the log keeps only the latest). */
  readonly byStatus = new Map<number, number>();
  readonly log: RequestRecord[] = [];
  private readonly listeners = new Set<(entry: RequestRecord) => void>();
  constructor(private readonly logLimit = 10_000) {}

  record(entry: RequestRecord): void {
    this.total += 1;
    const key = `${entry.verb ?? entry.method} ${entry.resource ?? entry.path}`;
    this.byRoute.set(key, (this.byRoute.get(key) ?? 0) + 1);
    this.byStatus.set(entry.status, (this.byStatus.get(entry.status) ?? 0) + 1);
    this.log.push(entry);
    if (this.log.length > this.logLimit) this.log.shift();
    for (const listener of [...this.listeners]) listener(entry);
  }

  /** Calls `listener` with every request as it is answered; returns the call that stops it. */
  subscribe(listener: (entry: RequestRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  count(verb: string, resource: string): number {
    return this.byRoute.get(`${verb} ${resource}`) ?? 0;
  }

  reset(): void {
    this.total = 0;
    this.byRoute.clear();
    this.byStatus.clear();
    this.log.length = 0;
  }
}

export interface ServerDeps {
  registry: Registry;
  auth: Authenticator;
  faults: FaultInjector;
  stats: RequestStats;
  latencyMs: () => number;
  /** The in-flight limit; undefined serves every request at once. */
  flowControl?: () => FlowControl | undefined;
}

/** kube-apiserver's limit on a request body it decodes (MaxRequestBodyBytes). */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;
const PATCH_TYPES: Record<string, PatchType> = {
  "application/json-patch+json": "json",
  "application/merge-patch+json": "merge",
  "application/strategic-merge-patch+json": "strategic",
};
const APPLY_PATCH = "application/apply-patch+yaml";
const PATCH_MEDIA_TYPES =
  "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json, application/apply-patch+cbor";

type ResourceRoute = Extract<Route, { kind: "resource" }>;

const FAULT_REASONS: Partial<Record<number, StatusReason>> = {
  400: "BadRequest",
  403: "Forbidden",
  409: "Conflict",
  422: "Invalid",
  429: "TooManyRequests",
  503: "ServiceUnavailable",
  504: "Timeout",
};

export function createApiServer(deps: ServerDeps, tls?: { certPem: string; keyPem: string }): Server {
  const listener: RequestListener = (req, res) => {
    const started = performance.now();
    const url = new URL(req.url ?? "/", "http://kube-local");
    const route = routeOf(url.pathname);
    const facts = {
      method: req.method ?? "GET",
      path: `${url.pathname}${url.search}`,
      verb: route.kind === "resource" ? verbOf(req.method ?? "GET", route, isTrue(url.searchParams.get("watch"))) : undefined,
      resource: route.kind === "resource" ? route.resource.plural : undefined,
      subresource: route.kind === "resource" ? route.subresource : undefined,
    };
    res.on("finish", () => {
      const status = statusSent.get(res);
      deps.stats.record({
        method: facts.method,
        path: facts.path,
        verb: facts.verb,
        resource: facts.subresource ? `${facts.resource}/${facts.subresource}` : facts.resource,
        ...(route.kind === "resource" ? { namespace: route.namespace, name: route.name } : {}),
        status: res.statusCode,
        ...(status ? { reason: status.reason, causes: (status.details?.causes ?? []).map((c) => c.reason ?? "").filter(Boolean) } : {}),
        ms: performance.now() - started,
      });
    });
    handle(deps, req, res, url, route, facts).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const apiError = error instanceof ApiError ? error : apiErrors.internal(error instanceof Error ? error.message : String(error));
      sendStatus(res, apiError.status, apiError.headers);
    });
  };
  const server = tls ? createTlsServer({ cert: tls.certPem, key: tls.keyPem }, listener) : createServer(listener);
  server.keepAliveTimeout = 60_000;
  return server;
}

async function handle(
  deps: ServerDeps,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  route: Route,
  facts: { method: string; path: string; verb?: Verb | undefined; resource?: string | undefined; subresource?: string | undefined },
): Promise<void> {
  if (route.kind === "public") {
    const latency = deps.latencyMs();
    if (latency > 0) await sleep(latency);
    if (route.document === "version") return sendJson(res, 200, versionInfo());
    res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8" }).end("ok");
    return;
  }
  const identity = deps.auth.authenticate(req.headers.authorization);
  const flow = deps.flowControl?.();
  if (flow && !flow.isExempt(identity.groups ?? [], facts.verb)) {
    const release = await flow.acquire(FlowControl.kindOf(facts.verb));
    if (!release) {
      res.writeHead(429, {
        "Content-Type": "text/plain; charset=utf-8",
        "X-Content-Type-Options": "nosniff",
        "Retry-After": "1",
        "X-Kubernetes-Pf-Flowschema-Uid": FLOW_SCHEMA_UID,
        "X-Kubernetes-Pf-Prioritylevel-Uid": PRIORITY_LEVEL_UID,
      });
      res.end(`${FLOW_CONTROL_REJECTION}\n`);
      return;
    }
    res.once("close", release);
    res.setHeader("X-Kubernetes-Pf-Flowschema-Uid", FLOW_SCHEMA_UID);
    res.setHeader("X-Kubernetes-Pf-Prioritylevel-Uid", PRIORITY_LEVEL_UID);
  }
  const latency = deps.latencyMs();
  if (latency > 0) await sleep(latency);
  for (const effect of deps.faults.take(facts)) {
    if (effect.kind === "latency") await sleep(effect.ms);
    else if (effect.kind === "drop") {
      req.socket.destroy();
      return;
    } else {
      const reason = FAULT_REASONS[effect.code] ?? "InternalError";
      const retry = effect.retryAfterSeconds;
      const body = statusBody(effect.code, reason, effect.message ?? `injected fault: ${effect.code}`, retry ? { retryAfterSeconds: retry } : undefined);
      return sendStatus(res, body, retry ? { "Retry-After": String(retry) } : {});
    }
  }
  if (route.kind === "unknown") throw apiErrors.noSuchRoute();
  if (route.kind === "discovery") return sendDiscovery(res, req, route);
  if (route.kind === "openapi") return sendOpenApi(res, req, url, route);

  const verb = facts.verb;
  if (!verb) throw apiErrors.methodNotAllowed();
  const access = {
    verb,
    group: route.subresource === "eviction" ? "" : route.resource.group,
    resource: route.resource.plural,
    subresource: route.subresource,
    namespace: route.namespace,
    name: route.name,
  };
  if (!allows(identity, access)) throw forbiddenError(identity, access);
  await serveResource(deps, req, res, url, route, verb, identity);
}

function sendDiscovery(res: ServerResponse, req: IncomingMessage, route: Extract<Route, { kind: "discovery" }>): void {
  const host = req.headers.host ?? "127.0.0.1";
  let doc: Record<string, unknown> | undefined;
  if (route.document === "api") doc = coreVersions(host);
  else if (route.document === "apis") doc = apiGroupList();
  else if (route.document === "group") doc = apiGroup(route.group);
  else doc = apiResourceList(route.group, route.version ?? "");
  if (!doc) throw apiErrors.noSuchRoute();
  sendJson(res, 200, doc);
}

const OPENAPI_V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";
let openApiV2: { json: string; proto: Buffer } | undefined;

/** /openapi/v2 (JSON, or gnostic protobuf when asked) and /openapi/v3 (discovery, then one document per group version). */
function sendOpenApi(res: ServerResponse, req: IncomingMessage, url: URL, route: Extract<Route, { kind: "openapi" }>): void {
  const accept = req.headers.accept ?? "";
  if (route.version === "v2") {
    openApiV2 ??= (() => {
      const doc = openApiV2Document();
      return { json: JSON.stringify(doc), proto: encodeSwaggerProto(doc) };
    })();
    if (/application\/com\.github\.proto-openapi\.spec\.v2(@|\.)v1\.0\+protobuf/.test(accept)) {
      res.writeHead(200, { "Content-Type": OPENAPI_V2_PROTOBUF, "Content-Length": openApiV2.proto.length });
      res.end(openApiV2.proto);
      return;
    }
    res.writeHead(200, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(openApiV2.json) });
    res.end(openApiV2.json);
    return;
  }
  if (route.path === undefined) return sendJson(res, 200, openApiV3Discovery());
  const found = openApiV3Document(route.path);
  if (!found) throw apiErrors.noSuchRoute();
  const immutable = url.searchParams.get("hash") === found.hash;
  sendJson(res, 200, found.document, { Etag: `"${found.hash}"`, ...(immutable ? { "Cache-Control": "public, immutable" } : { "Cache-Control": "no-cache, private" }) });
}

/**
 * fieldValidation (metav1 CreateOptions and friends): Strict refuses fields the schema does not
 * declare, Warn (the default) answers with a warning per field, Ignore says nothing.
 */
function fieldValidationOf(query: URLSearchParams): "Strict" | "Warn" | "Ignore" {
  const value = query.get("fieldValidation") ?? "Warn";
  if (value !== "Strict" && value !== "Warn" && value !== "Ignore") {
    throw apiErrors.badRequest(`fieldValidation parameter unsupported: ${value}`);
  }
  return value;
}

function checkFields(res: ServerResponse, resource: ResourceType, mode: "Strict" | "Warn" | "Ignore", object: unknown, prefix = ""): void {
  if (mode === "Ignore") return;
  const unknown = undeclaredFields(resource.group, resource.version, resource.kind, object);
  if (unknown.length === 0) return;
  if (mode === "Strict") {
    throw apiErrors.badRequest(`${prefix}strict decoding error: ${unknown.map((f) => `unknown field ${JSON.stringify(f)}`).join(", ")}`);
  }
  res.setHeader("Warning", unknown.map((f) => `299 - ${JSON.stringify(`unknown field ${JSON.stringify(f)}`)}`));
}

async function serveResource(deps: ServerDeps, req: IncomingMessage, res: ServerResponse, url: URL, route: ResourceRoute, verb: Verb, identity: Identity): Promise<void> {
  const { registry } = deps;
  const { resource, namespace, name, subresource } = route;
  const query = url.searchParams;
  const dryRunValues = query.getAll("dryRun");
  // what dryRun may say is checked by the options kind of each verb (metav1 ValidateCreateOptions and friends)
  const optionsKind = verb === "create" ? "CreateOptions" : verb === "update" ? "UpdateOptions" : verb === "patch" ? "PatchOptions" : undefined;
  if (optionsKind) {
    const causes = v.dryRun("dryRun", dryRunValues);
    if (causes.length > 0) throw apiErrors.invalid(optionsKind, "meta.k8s.io", "", causes);
  }
  const dryRun = dryRunValues.length > 0;
  if (subresource !== undefined && !resource.subresources.some((s) => s.name === subresource)) throw apiErrors.noSuchRoute();
  if (resource.namespaced && name !== undefined && namespace === undefined) throw apiErrors.noSuchRoute();
  if (!resource.verbs.includes(verb) && !subresource) throw apiErrors.methodNotAllowed();

  if (subresource === "eviction") {
    if (verb !== "create") throw apiErrors.methodNotAllowed();
    const status = evictPod(registry, namespace ?? "", name ?? "", await readObject(req, "Eviction"), dryRunValues);
    return sendStatus(res, status);
  }
  if (isReview(resource)) {
    if (verb !== "create" || name !== undefined) throw apiErrors.methodNotAllowed();
    return sendJson(res, 201, review(resource, identity, await readObject(req, resource.kind)));
  }
  if (subresource !== undefined && subresource !== "status" && subresource !== "eviction") {
    const sub = resource.subresources.find((s) => s.name === subresource)!;
    if (!sub.verbs.includes(verb)) throw apiErrors.methodNotAllowed();
    if (subresource === "scale") {
      validateFieldManager(query.get("fieldManager"), verb === "update" ? "UpdateOptions" : "PatchOptions");
      const scaleManager = { name: managerOf(query.get("fieldManager"), req.headers["user-agent"]), subresource: "scale" };
      if (verb === "get") return sendJson(res, 200, getScale(registry, resource, namespace, name ?? ""));
      if (verb === "update") return sendJson(res, 200, updateScale(registry, resource, namespace, name ?? "", await readObject(req, "Scale"), { dryRun, manager: scaleManager }));
      const type = PATCH_TYPES[(req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase() ?? ""];
      if (!type) throw apiErrors.unsupportedMediaType(`the body of the request was in an unknown format - accepted media types include: ${PATCH_MEDIA_TYPES}`);
      return sendJson(res, 200, patchScale(registry, resource, namespace, name ?? "", type, await readBody(req), { dryRun, manager: scaleManager }));
    }
    // namespaces/{name}/finalize: only spec.finalizers changes
    return sendJson(res, 200, registry.finalizeNamespace(name ?? "", await readObject(req, resource.kind), { dryRun }));
  }
  const statusSub = subresource === "status" ? ("status" as const) : undefined;
  if (optionsKind) validateFieldManager(query.get("fieldManager"), optionsKind);
  const manager: Manager = { name: managerOf(query.get("fieldManager"), req.headers["user-agent"]), ...(statusSub ? { subresource: statusSub } : {}) };

  switch (verb) {
    case "get":
      return sendObject(res, req, query, resource, registry.get(resource, namespace, name ?? ""), registry.now());
    case "list":
      return sendList(res, req, query, resource, namespace, registry);
    case "watch":
      return serveWatch(deps, req, res, query, route);
    case "create": {
      const body = await readObject(req, resource.kind);
      checkFields(res, resource, fieldValidationOf(query), body, `${resource.kind} in version "${resource.version}" cannot be handled as a ${resource.kind}: `);
      const created = registry.create(resource, namespace, body, { dryRun, manager });
      return sendJson(res, 201, created);
    }
    case "update": {
      const body = await readObject(req, resource.kind);
      if (!subresource) checkFields(res, resource, fieldValidationOf(query), body, `${resource.kind} in version "${resource.version}" cannot be handled as a ${resource.kind}: `);
      const updated = registry.update(resource, namespace, name ?? "", body, { dryRun, manager, ...(statusSub ? { subresource: statusSub } : {}) });
      return sendJson(res, 200, updated);
    }
    case "patch": {
      const mediaType = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
      if (mediaType === APPLY_PATCH) {
        const fieldManager = query.get("fieldManager");
        if (!fieldManager) {
          throw apiErrors.invalid("PatchOptions", "meta.k8s.io", "", [{ reason: "FieldValueRequired", message: "Required value: is required for apply patch", field: "fieldManager" }]);
        }
        const mode = fieldValidationOf(query);
        const applyManager = { name: fieldManager, ...(statusSub ? { subresource: statusSub } : {}) };
        const check = subresource ? undefined : (candidate: KubeObject) => checkFields(res, resource, mode, candidate);
        const { object, created } = registry.applyPatch(resource, namespace, name ?? "", await readBody(req), {
          dryRun,
          manager: applyManager,
          force: isTrue(query.get("force")),
          ...(statusSub ? { subresource: statusSub } : {}),
          ...(check ? { check } : {}),
        });
        return sendJson(res, created ? 201 : 200, object);
      }
      if (query.get("force") !== null) {
        throw apiErrors.invalid("PatchOptions", "meta.k8s.io", "", [{ reason: "FieldValueForbidden", message: "Forbidden: may not be specified for non-apply patch", field: "force" }]);
      }
      const type = PATCH_TYPES[mediaType];
      if (!type) throw apiErrors.unsupportedMediaType(`the body of the request was in an unknown format - accepted media types include: ${PATCH_MEDIA_TYPES}`);
      const text = await readBody(req);
      const mode = fieldValidationOf(query);
      const check = subresource ? undefined : (candidate: KubeObject) => checkFields(res, resource, mode, candidate);
      const patched = registry.patch(resource, namespace, name ?? "", type, text, { dryRun, manager, ...(statusSub ? { subresource: statusSub } : {}), ...(check ? { check } : {}) });
      return sendJson(res, 200, patched);
    }
    case "delete": {
      const options = await deleteOptionsFrom(req, query);
      const result = registry.delete(resource, namespace, name ?? "", options);
      const strategyReturnsObject = resource.plural === "pods" || resource.plural === "namespaces";
      // graceful deletions answer 200 with the object, as kube-apiserver does for compatibility
      if (strategyReturnsObject || !result.removed) return sendJson(res, 200, result.object);
      const uid = result.object.metadata.uid;
      return sendJson(res, 200, successStatus({ name: name ?? "", ...(resource.group ? { group: resource.group } : {}), kind: resource.plural, ...(uid ? { uid } : {}) }));
    }
    case "deletecollection": {
      const options = await deleteOptionsFrom(req, query);
      const items = registry.deleteCollection(resource, namespace, listOptionsFrom(query), options);
      return sendJson(res, 200, { kind: `${resource.kind}List`, apiVersion: apiVersionOf(resource), metadata: { resourceVersion: String(registry.store.currentRevision()) }, items });
    }
  }
}

function listOptionsFrom(query: URLSearchParams): ListOptions {
  const limit = query.get("limit");
  const parsedLimit = limit === null ? undefined : Number(limit);
  if (parsedLimit !== undefined && (!Number.isInteger(parsedLimit) || parsedLimit < 0)) throw apiErrors.badRequest(`invalid limit: ${limit}`);
  return {
    labelSelector: query.get("labelSelector") ?? undefined,
    fieldSelector: query.get("fieldSelector") ?? undefined,
    limit: parsedLimit,
    continueToken: query.get("continue") ?? undefined,
  };
}

/** DeleteOptions from the body when there is one, else from the query string, as kube-apiserver's delete handler reads them. */
async function deleteOptionsFrom(req: IncomingMessage, query: URLSearchParams): Promise<DeleteOptions> {
  const bytes = await readBytes(req);
  if (bytes.toString("utf8").trim() === "") return deleteOptionsFromQuery(query);
  const mediaType = (req.headers["content-type"] ?? "application/json").split(";")[0]?.trim().toLowerCase();
  const body = mediaType === PROTOBUF_MEDIA_TYPE ? decodeProtobuf(bytes).object : parseJson(bytes.toString("utf8"), "DeleteOptions");
  if (!isRecord(body)) throw apiErrors.badRequest("DeleteOptions must be a JSON object");
  return deleteOptionsFromJson(body);
}

interface Negotiated {
  as: "object" | "Table" | "PartialObjectMetadata";
  include: IncludeObject;
}

/** Reads the Accept header the way kube-apiserver negotiates Table and metadata-only answers. */
function negotiate(req: IncomingMessage, query: URLSearchParams): Negotiated {
  const accept = req.headers.accept ?? "";
  const include = (query.get("includeObject") as IncludeObject | null) ?? "Metadata";
  for (const clause of accept.split(",")) {
    const params = new Map(
      clause
        .split(";")
        .slice(1)
        .map((p) => p.trim().split("=") as [string, string]),
    );
    const as = params.get("as");
    if ((as === "Table" || as === "PartialObjectMetadata" || as === "PartialObjectMetadataList") && params.get("g") === "meta.k8s.io") {
      return { as: as === "Table" ? "Table" : "PartialObjectMetadata", include };
    }
    const media = clause.split(";")[0]?.trim() ?? "";
    if (media === "application/json" || media === "*/*" || media === "application/*") return { as: "object", include };
  }
  if (accept.trim() === "") return { as: "object", include };
  throw apiErrors.notAcceptable("only the following media types are accepted: application/json");
}

function sendObject(res: ServerResponse, req: IncomingMessage, query: URLSearchParams, resource: ResourceType, obj: KubeObject, now: Date): void {
  const how = negotiate(req, query);
  if (how.as === "Table") return sendJson(res, 200, toTable(resource, [obj], { resourceVersion: obj.metadata.resourceVersion ?? "" }, how.include, now));
  if (how.as === "PartialObjectMetadata") return sendJson(res, 200, { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: obj.metadata });
  sendJson(res, 200, obj);
}

function sendList(res: ServerResponse, req: IncomingMessage, query: URLSearchParams, resource: ResourceType, namespace: string | undefined, registry: Registry): void {
  const how = negotiate(req, query);
  const result = registry.list(resource, namespace, listOptionsFrom(query));
  const metadata = {
    resourceVersion: result.resourceVersion,
    ...(result.continueToken ? { continue: result.continueToken } : {}),
    ...(result.remainingItemCount !== undefined ? { remainingItemCount: result.remainingItemCount } : {}),
  };
  if (how.as === "Table") return sendJson(res, 200, toTable(resource, result.items, metadata, how.include, registry.now()));
  if (how.as === "PartialObjectMetadata") {
    return sendJson(res, 200, {
      kind: "PartialObjectMetadataList",
      apiVersion: "meta.k8s.io/v1",
      metadata,
      items: result.items.map((i) => ({ kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: i.metadata })),
    });
  }
  sendJson(res, 200, { kind: `${resource.kind}List`, apiVersion: apiVersionOf(resource), metadata, items: result.items });
}

/** A watch stream: replay from resourceVersion (or the current state), then live changes. */
async function serveWatch(deps: ServerDeps, req: IncomingMessage, res: ServerResponse, query: URLSearchParams, route: ResourceRoute): Promise<void> {
  const { registry } = deps;
  const { resource, namespace } = route;
  const filter = registry.parseFilter(resource, query.get("labelSelector") ?? undefined, query.get("fieldSelector") ?? undefined);
  const nameFilter = route.name;
  const how = negotiate(req, query);
  const bookmarks = isTrue(query.get("allowWatchBookmarks"));
  const timeoutSeconds = Number(query.get("timeoutSeconds") ?? 1800);
  const fromVersion = query.get("resourceVersion") ?? "";

  const inScope = (obj: KubeObject) =>
    (!resource.namespaced || namespace === undefined || obj.metadata.namespace === namespace) && (nameFilter === undefined || obj.metadata.name === nameFilter);
  const visible = new Set<string>();
  const resumed = fromVersion !== "" && fromVersion !== "0";
  const keyOf = (obj: KubeObject) => `${obj.metadata.namespace ?? ""}/${obj.metadata.name ?? ""}`;

  res.writeHead(200, { "Content-Type": "application/json", "Transfer-Encoding": "chunked", "Cache-Control": "no-cache, private" });
  res.flushHeaders();
  const write = (type: string, object: unknown) => res.write(`${JSON.stringify({ type, object })}\n`);
  const present = (obj: KubeObject): unknown => {
    const external = registry.toExternal(resource, obj);
    if (how.as === "Table") return toTable(resource, [external], { resourceVersion: obj.metadata.resourceVersion ?? "" }, how.include, registry.now());
    if (how.as === "PartialObjectMetadata") return { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: external.metadata };
    return external;
  };
  const deliver = (change: StoredChange) => {
    if (change.storage !== resource.storage || !inScope(change.object)) return;
    const key = keyOf(change.object);
    const matches = registry.matches(filter, change.object);
    const wasVisible = visible.has(key);
    if (change.type === "DELETED") {
      if (matches || wasVisible) write("DELETED", present(change.object));
      visible.delete(key);
    } else if (matches) {
      // after a resume the earlier state is unknown, so a change to an unseen object stays MODIFIED
      const type = wasVisible ? "MODIFIED" : change.type === "MODIFIED" && resumed ? "MODIFIED" : "ADDED";
      write(type, present(change.object));
      visible.add(key);
    } else if (wasVisible) {
      // an object that stops matching the selector leaves the watch as a deletion
      write("DELETED", present(change.object));
      visible.delete(key);
    }
  };

  if (!resumed) {
    for (const obj of registry.store.list(resource.storage, { namespace: resource.namespaced ? namespace : undefined, filter: (o) => inScope(o) && registry.matches(filter, o) })) {
      write("ADDED", present(obj));
      visible.add(keyOf(obj));
    }
  } else {
    const since = Number(fromVersion);
    const changes = Number.isFinite(since) ? registry.store.changesSince(since) : undefined;
    if (!changes) {
      const gone = statusBody(410, "Expired", `too old resource version: ${fromVersion} (${registry.store.oldestResumableRevision()})`);
      write("ERROR", gone);
      res.end();
      return;
    }
    for (const change of changes) deliver(change);
  }
  const unsubscribe = registry.store.subscribe(deliver);
  const bookmarkTimer = bookmarks
    ? setInterval(() => {
        write("BOOKMARK", { kind: resource.kind, apiVersion: apiVersionOf(resource), metadata: { resourceVersion: String(registry.store.currentRevision()) } });
      }, 10_000)
    : undefined;
  await new Promise<void>((resolve) => {
    const timeout = setTimeout(resolve, Math.max(1, timeoutSeconds) * 1000);
    const finish = () => {
      clearTimeout(timeout);
      resolve();
    };
    req.socket.once("close", finish);
    res.once("close", finish);
  });
  unsubscribe();
  if (bookmarkTimer) clearInterval(bookmarkTimer);
  if (!res.writableEnded) res.end();
}

function isTrue(value: string | null): boolean {
  return value === "true" || value === "1";
}

async function readBody(req: IncomingMessage): Promise<string> {
  return (await readBytes(req)).toString("utf8");
}

function readBytes(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on("data", (chunk: Buffer) => {
      if (tooLarge) return; // drained and dropped, so the client reads the answer instead of a reset
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        tooLarge = true;
        chunks.length = 0;
        reject(apiErrors.tooLarge(`Request entity too large: limit is ${MAX_BODY_BYTES}`));
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (!tooLarge) resolve(Buffer.concat(chunks));
    });
    req.on("error", reject);
  });
}

function parseJson(text: string, kind: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw apiErrors.badRequest(`couldn't get version/kind; json parse error: ${detail} (decoding ${kind})`);
  }
}

const ACCEPTED_BODY_TYPES = `application/json, application/yaml, ${PROTOBUF_MEDIA_TYPE}`;

/** A request body as JSON, YAML or protobuf (the types the server decodes), in its JSON shape. */
async function readObject(req: IncomingMessage, kind: string): Promise<unknown> {
  const mediaType = (req.headers["content-type"] ?? "application/json").split(";")[0]?.trim().toLowerCase();
  if (mediaType !== "application/json" && mediaType !== "*/*" && mediaType !== "application/yaml" && mediaType !== PROTOBUF_MEDIA_TYPE) {
    throw apiErrors.unsupportedMediaType(`the body of the request was in an unknown format - accepted media types include: ${ACCEPTED_BODY_TYPES}`);
  }
  const bytes = await readBytes(req);
  if (mediaType === PROTOBUF_MEDIA_TYPE) return decodeProtobuf(bytes).object;
  if (mediaType === "application/yaml") return parseYamlBody(bytes.toString("utf8"), kind);
  return parseJson(bytes.toString("utf8"), kind);
}

function parseYamlBody(text: string, kind: string): unknown {
  try {
    return parseYaml(text, { version: "1.2" }) as unknown;
  } catch (error) {
    throw apiErrors.badRequest(`error converting YAML to JSON: ${error instanceof Error ? error.message : String(error)} (decoding ${kind})`);
  }
}

function sendJson(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** The Status each failed request was answered with, for the request log. */
const statusSent = new WeakMap<ServerResponse, Status>();

function sendStatus(res: ServerResponse, status: Status, headers: Record<string, string> = {}): void {
  statusSent.set(res, status);
  sendJson(res, status.code, status, headers);
}

export function listeningUrl(server: Server, tls: boolean): string {
  const address = server.address() as AddressInfo;
  return `${tls ? "https" : "http"}://127.0.0.1:${address.port}`;
}
