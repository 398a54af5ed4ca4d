/**
 * AWS's published API models, as botocore ships them (Debian's python3-botocore, or a pip
 * install): one `service-2.json` per service and API version, with every operation's input shape
 * and its constraints. Nobody here wrote them, which is the point: the fakes hold our requests to
 * AWS's rules, not to our reading of them.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";

/** A botocore shape (the subset of its fields the contract check reads). */
export interface Shape {
  type: "structure" | "list" | "map" | "string" | "integer" | "long" | "float" | "double" | "boolean" | "timestamp" | "blob";
  members?: Record<string, MemberRef>;
  required?: string[];
  member?: MemberRef;
  key?: MemberRef;
  value?: MemberRef;
  min?: number;
  max?: number;
  pattern?: string;
  enum?: string[];
  union?: boolean;
  document?: boolean;
  sensitive?: boolean;
  streaming?: boolean;
  exception?: boolean;
}

export interface MemberRef {
  shape: string;
  idempotencyToken?: boolean;
  jsonvalue?: boolean;
  streaming?: boolean;
}

export interface ServiceModel {
  metadata: { apiVersion: string; protocol: string; serviceId: string; uid?: string };
  operations: Record<string, { name: string; input?: { shape: string } }>;
  shapes: Record<string, Shape>;
}

/** A service the project talks to: the SDK client's `serviceId`, botocore's folder, the SDK package. */
export interface ServiceEntry {
  serviceId: string;
  model: string;
  apiVersion: string;
  sdkPackage: string;
}

/**
 * Every AWS service the project sends requests to (or is about to). A client whose serviceId is not
 * here fails its requests in the fakes, so no new client goes unchecked.
 */
export const SERVICES: readonly ServiceEntry[] = [
  { serviceId: "EC2", model: "ec2", apiVersion: "2016-11-15", sdkPackage: "@aws-sdk/client-ec2" },
  { serviceId: "EKS", model: "eks", apiVersion: "2017-11-01", sdkPackage: "@aws-sdk/client-eks" },
  { serviceId: "Auto Scaling", model: "autoscaling", apiVersion: "2011-01-01", sdkPackage: "@aws-sdk/client-auto-scaling" },
  { serviceId: "SQS", model: "sqs", apiVersion: "2012-11-05", sdkPackage: "@aws-sdk/client-sqs" },
  { serviceId: "SNS", model: "sns", apiVersion: "2010-03-31", sdkPackage: "@aws-sdk/client-sns" },
  { serviceId: "Scheduler", model: "scheduler", apiVersion: "2021-06-30", sdkPackage: "@aws-sdk/client-scheduler" },
  { serviceId: "CodeBuild", model: "codebuild", apiVersion: "2016-10-06", sdkPackage: "@aws-sdk/client-codebuild" },
  { serviceId: "Secrets Manager", model: "secretsmanager", apiVersion: "2017-10-17", sdkPackage: "@aws-sdk/client-secrets-manager" },
  { serviceId: "CloudWatch", model: "cloudwatch", apiVersion: "2010-08-01", sdkPackage: "@aws-sdk/client-cloudwatch" },
  { serviceId: "Lambda", model: "lambda", apiVersion: "2015-03-31", sdkPackage: "@aws-sdk/client-lambda" },
  { serviceId: "STS", model: "sts", apiVersion: "2011-06-15", sdkPackage: "@aws-sdk/client-sts" },
  { serviceId: "EventBridge", model: "events", apiVersion: "2015-10-07", sdkPackage: "@aws-sdk/client-eventbridge" },
  { serviceId: "DynamoDB", model: "dynamodb", apiVersion: "2012-08-10", sdkPackage: "@aws-sdk/client-dynamodb" },
];

/** Overrides where the models are: a botocore `data` folder. */
export const MODELS_ENV = "SPOT_MANAGER_AWS_MODELS";
export const DEBIAN_BOTOCORE_DATA = "/usr/lib/python3/dist-packages/botocore/data";

export class AwsModelsMissingError extends Error {
  override name = "AwsModelsMissingError";
  constructor(readonly searched: string[]) {
    super(
      `AWS API models not found (looked in ${searched.join(", ") || "no folder"}). The AWS fakes check every request ` +
        `against AWS's published models, which botocore ships: on Debian or Ubuntu run \`apt-get install python3-botocore\` ` +
        `(npm test does this itself when run as root), elsewhere \`pip install botocore\`, or set ${MODELS_ENV} to a botocore data folder.`,
    );
  }
}

export function serviceEntry(serviceId: string): ServiceEntry | undefined {
  return SERVICES.find((s) => s.serviceId === serviceId);
}

let located: { env: string | undefined; dir?: string; searched: string[] } | undefined;

function cachedLocation(): { dir?: string; searched: string[] } {
  const env = process.env[MODELS_ENV];
  if (located?.env !== env || located === undefined) located = { env, ...locateModels() };
  return located;
}

/** The botocore data folder in use, or undefined when there is none on this machine. */
export function modelsDirectory(): string | undefined {
  return cachedLocation().dir;
}

/** Throws AwsModelsMissingError, naming where it looked, when the models are not installed. */
export function requireModelsDirectory(): string {
  const { dir, searched } = cachedLocation();
  if (dir === undefined) throw new AwsModelsMissingError(searched);
  return dir;
}

/** Looks for the models now (not cached): the folder found, if any, and every place searched. */
export function locateModels(): { dir?: string; searched: string[] } {
  const searched: string[] = [];
  const fromEnv = process.env[MODELS_ENV];
  if (fromEnv) {
    // An explicit choice is never second-guessed by a fallback.
    return { ...(hasModels(fromEnv) ? { dir: fromEnv } : {}), searched: [fromEnv] };
  }
  searched.push(DEBIAN_BOTOCORE_DATA);
  if (hasModels(DEBIAN_BOTOCORE_DATA)) return { dir: DEBIAN_BOTOCORE_DATA, searched };
  const python = spawnSync("python3", ["-c", "import botocore, os; print(os.path.join(os.path.dirname(botocore.__file__), 'data'))"], {
    encoding: "utf8",
    timeout: 10_000,
  });
  const pipData = python.status === 0 ? python.stdout.trim() : "";
  searched.push(pipData || "python3's botocore (not importable)");
  if (pipData && hasModels(pipData)) return { dir: pipData, searched };
  return { searched };
}

function hasModels(dir: string): boolean {
  return existsSync(join(dir, "sqs")) && existsSync(join(dir, "ec2"));
}

const cache = new Map<string, ServiceModel>();

/** Loads (once per process) the model of a service at the API version the SDK client speaks. */
export function loadServiceModel(entry: ServiceEntry): ServiceModel {
  const dir = join(requireModelsDirectory(), entry.model, entry.apiVersion);
  const cached = cache.get(dir);
  if (cached) return cached;
  const plain = join(dir, "service-2.json");
  let text: string;
  if (existsSync(plain)) text = readFileSync(plain, "utf8");
  else if (existsSync(`${plain}.gz`)) text = gunzipSync(readFileSync(`${plain}.gz`)).toString("utf8");
  else throw new Error(`the botocore models in ${modelsDirectory()} have no ${entry.serviceId} model at API version ${entry.apiVersion} (${plain})`);
  const model = JSON.parse(text) as ServiceModel;
  cache.set(dir, model);
  return model;
}
