/** Discovery documents: /version, /api, /api/v1, /apis, /apis/<group>, /apis/<group>/<version>. */
import { apiVersionOf, groupVersions, RESOURCES, type ResourceType } from "./resources";

export const SERVER_VERSION = { major: "1", minor: "32", gitVersion: "v1.32.0-kube-local" };

export function versionInfo(): Record<string, string> {
  return {
    ...SERVER_VERSION,
    gitCommit: "0000000000000000000000000000000000000000",
    gitTreeState: "clean",
    buildDate: "2026-01-01T00:00:00Z",
    goVersion: "go1.23.0",
    compiler: "gc",
    platform: "linux/amd64",
  };
}

export function coreVersions(serverAddress: string): Record<string, unknown> {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
  };
}

function groupDocument(group: string): Record<string, unknown> {
  const versions = groupVersions()
    .filter((gv) => gv.group === group)
    .map((gv) => ({ groupVersion: `${gv.group}/${gv.version}`, version: gv.version }));
  return { name: group, versions, preferredVersion: versions[0] };
}

export function apiGroupList(): Record<string, unknown> {
  const groups = [...new Set(groupVersions().map((gv) => gv.group).filter((g) => g !== ""))];
  return { kind: "APIGroupList", apiVersion: "v1", groups: groups.map(groupDocument) };
}

export function apiGroup(group: string): Record<string, unknown> | undefined {
  if (!groupVersions().some((gv) => gv.group === group && group !== "")) return undefined;
  return { kind: "APIGroup", apiVersion: "v1", ...groupDocument(group) };
}

function resourceEntries(resource: ResourceType): Record<string, unknown>[] {
  const main = {
    name: resource.plural,
    singularName: resource.singular,
    namespaced: resource.namespaced,
    kind: resource.kind,
    verbs: [...resource.verbs],
    ...(resource.shortNames.length ? { shortNames: [...resource.shortNames] } : {}),
    ...(resource.categories.length ? { categories: [...resource.categories] } : {}),
  };
  const subs = resource.subresources.map((sub) => ({
    name: `${resource.plural}/${sub.name}`,
    singularName: "",
    namespaced: resource.namespaced,
    ...(sub.group !== undefined ? { group: sub.group, version: sub.version } : {}),
    kind: sub.kind,
    verbs: [...sub.verbs],
  }));
  return [main, ...subs];
}

export function apiResourceList(group: string, version: string): Record<string, unknown> | undefined {
  const resources = RESOURCES.filter((r) => r.group === group && r.version === version);
  if (resources.length === 0) return undefined;
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: apiVersionOf({ group, version }),
    resources: resources.flatMap(resourceEntries),
  };
}
