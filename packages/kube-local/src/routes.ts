/** Maps a request path onto an API resource route, as kube-apiserver's installer lays them out. */
import { findResource, servesGroupVersion, type ResourceType, type Verb } from "./resources";

export type Route =
  | { kind: "public"; document: "version" | "healthz" }
  | { kind: "discovery"; document: "api" | "apis" | "group" | "groupVersion"; group: string; version?: string }
  | { kind: "openapi"; version: "v2" | "v3"; path?: string }
  | {
      kind: "resource";
      resource: ResourceType;
      namespace?: string | undefined;
      name?: string | undefined;
      subresource?: string | undefined;
      /** Legacy /watch/ path prefix. */
      watchPath: boolean;
    }
  | { kind: "unknown" };

const HEALTH = new Set(["/healthz", "/livez", "/readyz"]);

export function routeOf(pathname: string): Route {
  const path = pathname.replace(/\/+$/, "") || "/";
  if (path === "/version") return { kind: "public", document: "version" };
  if (HEALTH.has(path) || /^\/(healthz|livez|readyz)\/.+/.test(path)) return { kind: "public", document: "healthz" };
  if (path === "/openapi/v2") return { kind: "openapi", version: "v2" };
  if (path === "/openapi/v3") return { kind: "openapi", version: "v3" };
  if (path.startsWith("/openapi/v3/")) return { kind: "openapi", version: "v3", path: path.slice("/openapi/v3/".length) };
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  if (parts[0] === "api") {
    if (parts.length === 1) return { kind: "discovery", document: "api", group: "" };
    if (parts[1] !== "v1") return { kind: "unknown" };
    if (parts.length === 2) return { kind: "discovery", document: "groupVersion", group: "", version: "v1" };
    return resourceRoute("", "v1", parts.slice(2));
  }
  if (parts[0] === "apis") {
    if (parts.length === 1) return { kind: "discovery", document: "apis", group: "" };
    const group = parts[1] ?? "";
    if (parts.length === 2) return { kind: "discovery", document: "group", group };
    const version = parts[2] ?? "";
    if (!servesGroupVersion(group, version)) return { kind: "unknown" };
    if (parts.length === 3) return { kind: "discovery", document: "groupVersion", group, version };
    return resourceRoute(group, version, parts.slice(3));
  }
  return { kind: "unknown" };
}

function resourceRoute(group: string, version: string, rest: string[]): Route {
  let watchPath = false;
  if (rest[0] === "watch") {
    watchPath = true;
    rest = rest.slice(1);
  }
  // namespaces/{ns}/{resource}/... unless the third segment is a namespace subresource
  if (rest[0] === "namespaces" && rest.length >= 3) {
    const candidate = findResource(group, version, rest[2] ?? "");
    if (candidate?.namespaced) {
      if (rest.length > 5) return { kind: "unknown" };
      return { kind: "resource", resource: candidate, namespace: rest[1], name: rest[3], subresource: rest[4], watchPath };
    }
  }
  const resource = findResource(group, version, rest[0] ?? "");
  if (!resource || rest.length > 3) return { kind: "unknown" };
  return { kind: "resource", resource, name: rest[1], subresource: rest[2], watchPath };
}

/** The RBAC verb of a resource request. */
export function verbOf(method: string, route: Extract<Route, { kind: "resource" }>, watch: boolean): Verb | undefined {
  const item = route.name !== undefined;
  switch (method) {
    case "GET":
      if (watch || route.watchPath) return "watch";
      return item ? "get" : "list";
    case "POST":
      return item && !route.subresource ? undefined : "create";
    case "PUT":
      return item ? "update" : undefined;
    case "PATCH":
      return item ? "patch" : undefined;
    case "DELETE":
      return item ? "delete" : "deletecollection";
    default:
      return undefined;
  }
}
