export {
  CLUSTER_ID_HEADER,
  createEksToken,
  EKS_TOKEN_LIFETIME_SECONDS,
  EKS_TOKEN_PREFIX,
  EksTokenProvider,
  type AwsCredentialIdentityProvider,
  type EksToken,
  type EksTokenInput,
  type EksTokenProviderOptions,
} from "./token";
export {
  ClusterEndpointCache,
  ClusterNotFoundError,
  ClusterNotReadyError,
  type ClusterEndpoint,
  type ClusterEndpointCacheOptions,
} from "./cluster-endpoint";
