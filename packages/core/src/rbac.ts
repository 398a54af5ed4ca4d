/**
 * The least privilege spot-manager needs in the cluster, as ClusterRole rules: the stacks render
 * them into the ClusterRole the access entry's group is bound to, and tests run the handler with
 * exactly these permissions. Never cluster-admin.
 */
export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

export const CLUSTER_ROLE_NAME = "spot-manager";
/** The Kubernetes group the EKS access entry maps the function's role to. */
export const KUBERNETES_GROUP = "spot-manager";

export const CLUSTER_ROLE_RULES: readonly PolicyRule[] = [
  { apiGroups: [""], resources: ["nodes"], verbs: ["get", "list", "patch"] },
  { apiGroups: [""], resources: ["pods"], verbs: ["list", "delete"] },
  { apiGroups: [""], resources: ["pods/eviction"], verbs: ["create"] },
  { apiGroups: [""], resources: ["events"], verbs: ["create"] },
];
