/**
 * Bearer-token authentication and an RBAC-like authorizer: a token may carry rules
 * (verbs x resources, optionally API groups, namespaces and names); without rules it may do anything.
 */
import { apiErrors } from "./errors";

export interface AccessRule {
  verbs: readonly string[];
  /** `pods`, `pods/eviction`, `*`; matched like RBAC resources with subresources. */
  resources: readonly string[];
  apiGroups?: readonly string[];
  namespaces?: readonly string[];
  resourceNames?: readonly string[];
}

export interface Identity {
  user: string;
  groups?: readonly string[];
  /** Absent: unrestricted (cluster-admin). Present: only what a rule allows. */
  rules?: readonly AccessRule[];
}

export interface AccessRequest {
  verb: string;
  group: string;
  resource: string;
  subresource?: string | undefined;
  namespace?: string | undefined;
  name?: string | undefined;
}

const matchesList = (list: readonly string[] | undefined, value: string) => list === undefined || list.includes("*") || list.includes(value);

/** What system:basic-user grants every authenticated user: asking about oneself. */
export const BASIC_USER_RULES: readonly AccessRule[] = [
  { verbs: ["create"], apiGroups: ["authorization.k8s.io"], resources: ["selfsubjectaccessreviews", "selfsubjectrulesreviews"] },
  { verbs: ["create"], apiGroups: ["authentication.k8s.io"], resources: ["selfsubjectreviews"] },
];

/** The non-resource URLs system:discovery and system:public-info-viewer open to every authenticated user. */
export const DISCOVERY_URLS: readonly string[] = ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*", "/readyz", "/version", "/version/"];

export function allows(identity: Identity, request: AccessRequest): boolean {
  if (!identity.rules) return true;
  const resource = request.subresource ? `${request.resource}/${request.subresource}` : request.resource;
  return [...identity.rules, ...BASIC_USER_RULES].some(
    (rule) =>
      matchesList(rule.verbs, request.verb) &&
      matchesList(rule.apiGroups ?? [""], request.group) &&
      (rule.resources.includes("*") ||
        rule.resources.includes(resource) ||
        (request.subresource !== undefined && (rule.resources.includes(`${request.resource}/*`) || rule.resources.includes(`*/${request.subresource}`)))) &&
      // a rule held to namespaces (a RoleBinding) never covers a cluster-wide request
      (rule.namespaces === undefined || (request.namespace !== undefined && rule.namespaces.includes(request.namespace))) &&
      (rule.resourceNames === undefined || (request.name !== undefined && rule.resourceNames.includes(request.name))),
  );
}

/** The 403 kube-apiserver's RBAC authorizer answers, word for word. */
export function forbiddenError(identity: Identity, request: AccessRequest) {
  const resource = request.subresource ? `${request.resource}/${request.subresource}` : request.resource;
  const subject = request.name ? `${request.resource}${request.group ? `.${request.group}` : ""} "${request.name}"` : `${request.resource}${request.group ? `.${request.group}` : ""}`;
  const where = request.namespace ? `in the namespace "${request.namespace}"` : "at the cluster scope";
  return apiErrors.forbidden(
    `${subject} is forbidden: User "${identity.user}" cannot ${request.verb} resource "${resource}" in API group "${request.group}" ${where}`,
    { ...(request.name ? { name: request.name } : {}), ...(request.group ? { group: request.group } : {}), kind: request.resource },
  );
}

/** Decides on tokens not registered up front (as a webhook token authenticator would). */
export type TokenReviewer = (token: string) => Identity | undefined;

export class Authenticator {
  private readonly tokens = new Map<string, Identity>();

  constructor(private readonly reviewer?: TokenReviewer) {}

  add(token: string, identity: Identity): void {
    this.tokens.set(token, identity);
  }

  remove(token: string): void {
    this.tokens.delete(token);
  }

  /** The identity behind `Authorization: Bearer <token>`; 401 otherwise. */
  authenticate(header: string | undefined): Identity {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
    const token = match?.[1];
    const identity = token ? (this.tokens.get(token) ?? this.reviewer?.(token)) : undefined;
    if (!identity) throw apiErrors.unauthorized();
    return identity;
  }
}
