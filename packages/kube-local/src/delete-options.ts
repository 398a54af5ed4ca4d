/**
 * DeleteOptions as kube-apiserver decodes them: from the request body when there is one (a DELETE
 * body, or an Eviction's deleteOptions), else from the query string. Wrong types are a 400, as a
 * JSON decode error is; values are checked later by validateDeleteOptions (422).
 */
import { apiErrors } from "./errors";
import type { DeleteOptions } from "./strategies";
import { isRecord } from "./wire";

function typeError(field: string, want: string, got: unknown): Error {
  const kind = Array.isArray(got) ? "array" : got === null ? "null" : typeof got;
  return apiErrors.badRequest(`json: cannot unmarshal ${kind} into Go struct field DeleteOptions.${field} of type ${want}`);
}

/** Reads a DeleteOptions object (already parsed JSON). */
export function deleteOptionsFromJson(raw: Record<string, unknown>): DeleteOptions {
  const options: DeleteOptions = {};
  const grace = raw["gracePeriodSeconds"];
  if (grace !== undefined && grace !== null) {
    if (typeof grace !== "number" || !Number.isInteger(grace)) throw typeError("gracePeriodSeconds", "int64", grace);
    options.gracePeriodSeconds = grace;
  }
  const pre = raw["preconditions"];
  if (pre !== undefined && pre !== null) {
    if (!isRecord(pre)) throw typeError("preconditions", "v1.Preconditions", pre);
    const uid = pre["uid"];
    const resourceVersion = pre["resourceVersion"];
    if (uid !== undefined && uid !== null && typeof uid !== "string") throw typeError("preconditions.uid", "types.UID", uid);
    if (resourceVersion !== undefined && resourceVersion !== null && typeof resourceVersion !== "string") throw typeError("preconditions.resourceVersion", "string", resourceVersion);
    options.preconditions = {
      ...(typeof uid === "string" ? { uid } : {}),
      ...(typeof resourceVersion === "string" ? { resourceVersion } : {}),
    };
  }
  const policy = raw["propagationPolicy"];
  if (policy !== undefined && policy !== null) {
    if (typeof policy !== "string") throw typeError("propagationPolicy", "v1.DeletionPropagation", policy);
    options.propagationPolicy = policy;
  }
  const orphan = raw["orphanDependents"];
  if (orphan !== undefined && orphan !== null) {
    if (typeof orphan !== "boolean") throw typeError("orphanDependents", "bool", orphan);
    options.orphanDependents = orphan;
  }
  const dryRun = raw["dryRun"];
  if (dryRun !== undefined && dryRun !== null) {
    if (!Array.isArray(dryRun) || dryRun.some((d) => typeof d !== "string")) throw typeError("dryRun", "[]string", dryRun);
    options.dryRun = dryRun as string[];
  }
  return options;
}

/** Reads DeleteOptions from query parameters (used only when the request has no body). */
export function deleteOptionsFromQuery(query: URLSearchParams): DeleteOptions {
  const options: DeleteOptions = {};
  const grace = query.get("gracePeriodSeconds");
  if (grace !== null) {
    if (!/^[+-]?\d+$/.test(grace)) throw apiErrors.badRequest(`strconv.ParseInt: parsing ${JSON.stringify(grace)}: invalid syntax`);
    options.gracePeriodSeconds = Number(grace);
  }
  const policy = query.get("propagationPolicy");
  if (policy !== null) options.propagationPolicy = policy;
  const orphan = query.get("orphanDependents");
  if (orphan !== null) options.orphanDependents = orphan === "true" || orphan === "1";
  const dryRun = query.getAll("dryRun");
  if (dryRun.length > 0) options.dryRun = dryRun;
  return options;
}
