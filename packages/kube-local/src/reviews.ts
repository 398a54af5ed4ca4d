/**
 * The self-subject reviews, answered from the caller's own identity as kube-apiserver answers
 * them: SelfSubjectAccessReview (`kubectl auth can-i`), SelfSubjectRulesReview (`can-i --list`)
 * and SelfSubjectReview (`kubectl auth whoami`). Nothing is stored; the answer is 201 with the
 * review and its status.
 */
import { allows, BASIC_USER_RULES, DISCOVERY_URLS, type Identity } from "./auth";
import { apiErrors, type StatusCause } from "./errors";
import { apiVersionOf, type ResourceType } from "./resources";
import * as v from "./validation";
import { isRecord } from "./wire";

const AUTHENTICATED = "system:authenticated";

function groupsOf(identity: Identity): string[] {
  const groups = [...(identity.groups ?? [])];
  if (!groups.includes(AUTHENTICATED)) groups.push(AUTHENTICATED);
  return groups;
}

const str = (value: unknown): string => (typeof value === "string" ? value : "");

function decode(resource: ResourceType, body: unknown): Record<string, unknown> {
  if (!isRecord(body)) throw apiErrors.badRequest(`Object '${resource.kind}' is missing in '${JSON.stringify(body)}'`);
  const kind = body["kind"];
  if (kind !== undefined && kind !== resource.kind) throw apiErrors.badRequest(`${String(kind)} in version "${resource.version}" cannot be handled as a ${resource.kind}`);
  return body;
}

/** A non-resource URL rule as RBAC matches it: exact, or a prefix ending in `*`. */
function matchesUrl(pattern: string, path: string): boolean {
  if (pattern === "*") return true;
  if (pattern.endsWith("*")) return path.startsWith(pattern.slice(0, -1));
  return pattern === path;
}

function allowsNonResource(identity: Identity, verb: string, path: string): boolean {
  if (!identity.rules) return true;
  return verb === "get" && DISCOVERY_URLS.some((url) => matchesUrl(url, path));
}

/** Answers one of the three reviews for the caller. */
export function review(resource: ResourceType, identity: Identity, body: unknown): Record<string, unknown> {
  const object = decode(resource, body);
  const spec = isRecord(object["spec"]) ? object["spec"] : {};
  const base = { kind: resource.kind, apiVersion: apiVersionOf(resource), metadata: { creationTimestamp: null } };
  if (resource.kind === "SelfSubjectReview") {
    return { ...base, status: { userInfo: { username: identity.user, groups: groupsOf(identity) } } };
  }
  if (resource.kind === "SelfSubjectAccessReview") {
    const attributes = isRecord(spec["resourceAttributes"]) ? spec["resourceAttributes"] : undefined;
    const nonResource = isRecord(spec["nonResourceAttributes"]) ? spec["nonResourceAttributes"] : undefined;
    if ((attributes === undefined) === (nonResource === undefined)) {
      const causes: StatusCause[] = [v.invalid("spec.resourceAttributes", spec["resourceAttributes"] ?? null, "exactly one of nonResourceAttributes or resourceAttributes must be specified")];
      throw apiErrors.invalid(resource.kind, resource.group, "", causes);
    }
    const allowed = attributes
      ? allows(identity, {
          verb: str(attributes["verb"]),
          group: str(attributes["group"]),
          resource: str(attributes["resource"]),
          subresource: str(attributes["subresource"]) || undefined,
          namespace: str(attributes["namespace"]) || undefined,
          name: str(attributes["name"]) || undefined,
        })
      : allowsNonResource(identity, str(nonResource?.["verb"]), str(nonResource?.["path"]));
    return { ...base, spec, status: { allowed } };
  }
  // SelfSubjectRulesReview: what the caller may do in spec.namespace
  const namespace = str(spec["namespace"]);
  const resourceRules: Record<string, unknown>[] = [];
  const nonResourceRules: Record<string, unknown>[] = [];
  if (!identity.rules) {
    resourceRules.push({ verbs: ["*"], apiGroups: ["*"], resources: ["*"] });
    nonResourceRules.push({ verbs: ["*"], nonResourceURLs: ["*"] });
  } else {
    for (const rule of identity.rules) {
      if (rule.namespaces !== undefined && !rule.namespaces.includes(namespace)) continue;
      resourceRules.push({ verbs: [...rule.verbs], apiGroups: [...(rule.apiGroups ?? [""])], resources: [...rule.resources], ...(rule.resourceNames ? { resourceNames: [...rule.resourceNames] } : {}) });
    }
  }
  for (const rule of BASIC_USER_RULES) resourceRules.push({ verbs: [...rule.verbs], apiGroups: [...(rule.apiGroups ?? [])], resources: [...rule.resources] });
  nonResourceRules.push({ verbs: ["get"], nonResourceURLs: [...DISCOVERY_URLS] });
  return { ...base, spec, status: { resourceRules, nonResourceRules, incomplete: false } };
}
