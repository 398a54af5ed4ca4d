/** Kubernetes `Status` bodies and the error that carries one out of any handler. */

export type StatusReason =
  | "BadRequest"
  | "Unauthorized"
  | "Forbidden"
  | "NotFound"
  | "AlreadyExists"
  | "Conflict"
  | "Gone"
  | "Invalid"
  | "MethodNotAllowed"
  | "NotAcceptable"
  | "UnsupportedMediaType"
  | "RequestEntityTooLarge"
  | "TooManyRequests"
  | "InternalError"
  | "ServiceUnavailable"
  | "Timeout"
  | "Expired"
  | "";

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, never>;
  status: "Success" | "Failure";
  message?: string;
  reason?: StatusReason;
  details?: StatusDetails;
  code: number;
}

export function statusBody(code: number, reason: StatusReason, message: string, details?: StatusDetails): Status {
  const body: Status = { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, code };
  if (reason) body.reason = reason;
  if (details) body.details = details;
  return body;
}

export function successStatus(details?: StatusDetails, code = 200): Status {
  const body: Status = { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", code };
  if (details) body.details = details;
  return body;
}

/** An API failure that is answered with its Status body and code. */
export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly status: Status,
    readonly headers: Record<string, string> = {},
  ) {
    super(status.message ?? status.reason ?? `HTTP ${status.code}`);
  }
  get code(): number {
    return this.status.code;
  }
}

/** `pods "x"` or `pods` as kube-apiserver prints a qualified resource. */
function qualified(resource: string, group: string): string {
  return group ? `${resource}.${group}` : resource;
}

export const apiErrors = {
  badRequest: (message: string) => new ApiError(statusBody(400, "BadRequest", message)),
  unauthorized: () => new ApiError(statusBody(401, "Unauthorized", "Unauthorized")),
  forbidden: (message: string, details?: StatusDetails) => new ApiError(statusBody(403, "Forbidden", message, details)),
  notFound: (resource: string, group: string, name: string) =>
    new ApiError(
      statusBody(404, "NotFound", `${qualified(resource, group)} "${name}" not found`, {
        name,
        ...(group ? { group } : {}),
        kind: resource,
      }),
    ),
  noSuchRoute: () => new ApiError(statusBody(404, "NotFound", "the server could not find the requested resource", {})),
  alreadyExists: (resource: string, group: string, name: string) =>
    new ApiError(
      statusBody(409, "AlreadyExists", `${qualified(resource, group)} "${name}" already exists`, {
        name,
        ...(group ? { group } : {}),
        kind: resource,
      }),
    ),
  conflict: (resource: string, group: string, name: string, why: string) =>
    new ApiError(
      statusBody(409, "Conflict", `Operation cannot be fulfilled on ${qualified(resource, group)} "${name}": ${why}`, {
        name,
        ...(group ? { group } : {}),
        kind: resource,
      }),
    ),
  gone: (message: string) => new ApiError(statusBody(410, "Expired", message)),
  invalid: (kind: string, group: string, name: string, causes: StatusCause[]) => {
    const summary = causes.map((c) => `${c.field}: ${c.message}`).join(", ");
    const list = causes.length > 1 ? `[${summary}]` : summary;
    return new ApiError(
      statusBody(422, "Invalid", `${group ? `${kind}.${group}` : kind} "${name}" is invalid: ${list}`, {
        name,
        ...(group ? { group } : {}),
        kind,
        causes,
      }),
    );
  },
  unprocessable: (message: string) => new ApiError(statusBody(422, "Invalid", message)),
  methodNotAllowed: (message = "the server does not allow this method on the requested resource") =>
    new ApiError(statusBody(405, "MethodNotAllowed", message, {})),
  notAcceptable: (message: string) => new ApiError(statusBody(406, "NotAcceptable", message)),
  unsupportedMediaType: (message: string) => new ApiError(statusBody(415, "UnsupportedMediaType", message)),
  tooLarge: (message: string) => new ApiError(statusBody(413, "RequestEntityTooLarge", message)),
  tooManyRequests: (message: string, retryAfterSeconds: number, causes?: StatusCause[]) =>
    new ApiError(
      statusBody(429, "TooManyRequests", message, {
        ...(causes ? { causes } : {}),
        ...(retryAfterSeconds > 0 ? { retryAfterSeconds } : {}),
      }),
      retryAfterSeconds > 0 ? { "Retry-After": String(retryAfterSeconds) } : {},
    ),
  /** An error that is not a Status inside kube-apiserver: answered with the code and message alone (reason Unknown). */
  unknown: (code: number, message: string) => new ApiError(statusBody(code, "", message)),
  internal: (message: string) =>
    new ApiError(
      statusBody(500, "InternalError", `Internal error occurred: ${message}`, { causes: [{ message }] }),
    ),
  unavailable: (message: string, retryAfterSeconds = 0) =>
    new ApiError(
      statusBody(503, "ServiceUnavailable", message, retryAfterSeconds > 0 ? { retryAfterSeconds } : undefined),
      retryAfterSeconds > 0 ? { "Retry-After": String(retryAfterSeconds) } : {},
    ),
};
