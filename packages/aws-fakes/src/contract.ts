/**
 * The contract check of one request: which service and operation a command is for, its model,
 * and what AWS would answer when the request breaks it. Every check that fails is also kept, so a
 * test fails even when the code under test catches the error (a best-effort notification, a retry
 * wrapper): see `takeContractFailures`.
 */
import { createRequire } from "node:module";
import { AwsModelsMissingError, loadServiceModel, serviceEntry, type ServiceEntry, SERVICES } from "./models";
import { validateInput, type Violation } from "./validate";

/** What AWS answers a request that breaks its contract: a 400 client error, as the SDK raises it. */
export class AwsContractError extends Error {
  readonly $fault = "client" as const;
  readonly $metadata = { httpStatusCode: 400, attempts: 1, totalRetryDelay: 0 };
  readonly Code: string;

  constructor(
    readonly service: string,
    readonly operation: string,
    readonly violations: Violation[],
    protocol: string,
  ) {
    const count = violations.length;
    super(`${service} ${operation}: ${count} validation error${count === 1 ? "" : "s"} detected: ${violations.map((v) => v.message).join("; ")}`);
    // The error code each protocol family uses for a constraint failure.
    this.name = protocol === "query" ? "ValidationError" : protocol === "ec2" ? "InvalidParameterValue" : "ValidationException";
    this.Code = this.name;
  }
}

/** A request the fakes refused: broken contract, or no model to hold it to. */
export interface ContractFailure {
  service: string;
  operation: string;
  error: Error;
  violations: Violation[];
}

export type ModelsPolicy = "required" | "when-available";

const failures: ContractFailure[] = [];

/** Failures recorded since the last `takeContractFailures`, without clearing them. */
export function contractFailures(): readonly ContractFailure[] {
  return failures;
}

/** Failures recorded so far; clears the record. */
export function takeContractFailures(): ContractFailure[] {
  return failures.splice(0, failures.length);
}

/** Throws, listing them, when any request since the last call broke its contract. For test hooks. */
export function assertNoContractFailures(): void {
  const found = takeContractFailures();
  if (found.length === 0) return;
  const lines = found.map((f) => `  - ${f.error.message}`);
  throw new Error(`AWS would have rejected ${found.length} request${found.length === 1 ? "" : "s"} sent here:\n${lines.join("\n")}`);
}

interface ClientLike {
  config?: { serviceId?: string };
  constructor: { name: string };
}

interface CommandLike {
  input?: unknown;
  constructor: { name: string };
}

/**
 * Holds a command to its service's contract. Returns the failure (also recorded) when AWS would
 * refuse it; undefined when it may go on to the fake's configured behaviour.
 */
export function checkRequest(client: ClientLike, command: CommandLike, models: ModelsPolicy): ContractFailure | undefined {
  const serviceId = client.config?.serviceId ?? client.constructor.name;
  const operation = command.constructor.name.replace(/Command$/, "");
  const entry = serviceEntry(serviceId);
  if (!entry) {
    return record({
      service: serviceId,
      operation,
      violations: [],
      error: new Error(`${serviceId} ${operation}: no AWS API model is set up for the service "${serviceId}"; add it to SERVICES (known: ${SERVICES.map((s) => s.serviceId).join(", ")})`),
    });
  }
  let model;
  try {
    model = loadServiceModel(entry);
  } catch (error) {
    if (error instanceof AwsModelsMissingError && models === "when-available") return undefined;
    return record({ service: serviceId, operation, violations: [], error: error as Error });
  }
  // An operation newer than the model cannot be checked; the project's own test lists the operations it uses.
  if (!model.operations[operation]) return undefined;
  const violations = validateInput(model, operation, command.input, { newerEnumValues: (shape) => sdkEnumValues(entry, shape) });
  if (violations.length === 0) return undefined;
  return record({ service: serviceId, operation, violations, error: new AwsContractError(serviceId, operation, violations, model.metadata.protocol) });
}

function record(failure: ContractFailure): ContractFailure {
  failures.push(failure);
  return failure;
}

const require = createRequire(import.meta.url);
const sdkModules = new Map<string, Record<string, unknown> | null>();

/**
 * The values the SDK client's own enum of that name lists (the SDK is built from newer models
 * than botocore's); undefined when the SDK has no such enum. Loaded only for a value the model
 * does not know.
 */
export function sdkEnumValues(entry: ServiceEntry, shapeName: string): string[] | undefined {
  let sdk = sdkModules.get(entry.sdkPackage);
  if (sdk === undefined) {
    try {
      sdk = require(entry.sdkPackage) as Record<string, unknown>;
    } catch {
      sdk = null;
    }
    sdkModules.set(entry.sdkPackage, sdk);
  }
  const values = sdk?.[shapeName] ?? sdk?.[`_${shapeName}`];
  if (typeof values !== "object" || values === null) return undefined;
  const list = Object.values(values);
  return list.every((v) => typeof v === "string") ? (list as string[]) : undefined;
}
