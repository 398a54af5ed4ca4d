/**
 * The protobuf form of a Swagger 2.0 document that kubectl asks /openapi/v2 for
 * (application/com.github.proto-openapi.spec.v2@v1.0+protobuf): gnostic's openapi.v2.Document,
 * with the field numbers of its OpenAPIv2.proto. Values that JSON Schema leaves open (defaults,
 * enums, vendor extensions) travel as YAML text, as gnostic writes them.
 */
import protobuf from "protobufjs";
import { stringify } from "yaml";

type Fields = Record<string, { type: string; id: number; rule?: "repeated" }>;
const f = (id: number, type: string, repeated = false) => ({ type, id, ...(repeated ? { rule: "repeated" as const } : {}) });

const MESSAGES: Record<string, Fields> = {
  Document: { swagger: f(1, "string"), info: f(2, "Info"), schemes: f(5, "string", true), consumes: f(6, "string", true), produces: f(7, "string", true), paths: f(8, "Paths"), definitions: f(9, "Definitions"), security: f(12, "SecurityRequirement", true), securityDefinitions: f(13, "SecurityDefinitions") },
  Info: { title: f(1, "string"), version: f(2, "string"), description: f(3, "string") },
  Paths: { path: f(2, "NamedPathItem", true) },
  NamedPathItem: { name: f(1, "string"), value: f(2, "PathItem") },
  PathItem: { get: f(2, "Operation"), put: f(3, "Operation"), post: f(4, "Operation"), delete: f(5, "Operation"), options: f(6, "Operation"), head: f(7, "Operation"), patch: f(8, "Operation"), parameters: f(9, "ParametersItem", true) },
  Operation: { tags: f(1, "string", true), description: f(3, "string"), operationId: f(5, "string"), produces: f(6, "string", true), consumes: f(7, "string", true), parameters: f(8, "ParametersItem", true), responses: f(9, "Responses"), schemes: f(10, "string", true), vendorExtension: f(13, "NamedAny", true) },
  ParametersItem: { parameter: f(1, "Parameter") },
  Parameter: { bodyParameter: f(1, "BodyParameter"), nonBodyParameter: f(2, "NonBodyParameter") },
  BodyParameter: { description: f(1, "string"), name: f(2, "string"), in: f(3, "string"), required: f(4, "bool"), schema: f(5, "Schema") },
  NonBodyParameter: { queryParameterSubSchema: f(3, "QueryParameterSubSchema"), pathParameterSubSchema: f(4, "PathParameterSubSchema") },
  QueryParameterSubSchema: { required: f(1, "bool"), in: f(2, "string"), description: f(3, "string"), name: f(4, "string"), type: f(6, "string"), format: f(7, "string"), uniqueItems: f(20, "bool") },
  PathParameterSubSchema: { required: f(1, "bool"), in: f(2, "string"), description: f(3, "string"), name: f(4, "string"), type: f(5, "string"), format: f(6, "string"), uniqueItems: f(19, "bool") },
  Responses: { responseCode: f(1, "NamedResponseValue", true) },
  NamedResponseValue: { name: f(1, "string"), value: f(2, "ResponseValue") },
  ResponseValue: { response: f(1, "Response") },
  Response: { description: f(1, "string"), schema: f(2, "SchemaItem") },
  SchemaItem: { schema: f(1, "Schema") },
  Definitions: { additionalProperties: f(1, "NamedSchema", true) },
  NamedSchema: { name: f(1, "string"), value: f(2, "Schema") },
  Schema: {
    ref: f(1, "string"),
    format: f(2, "string"),
    title: f(3, "string"),
    description: f(4, "string"),
    default: f(5, "Any"),
    required: f(19, "string", true),
    enum: f(20, "Any", true),
    additionalProperties: f(21, "AdditionalPropertiesItem"),
    type: f(22, "TypeItem"),
    items: f(23, "ItemsItem"),
    allOf: f(24, "Schema", true),
    properties: f(25, "Properties"),
    vendorExtension: f(31, "NamedAny", true),
  },
  Properties: { additionalProperties: f(1, "NamedSchema", true) },
  ItemsItem: { schema: f(1, "Schema", true) },
  TypeItem: { value: f(1, "string", true) },
  AdditionalPropertiesItem: { schema: f(1, "Schema"), boolean: f(2, "bool") },
  Any: { yaml: f(2, "string") },
  NamedAny: { name: f(1, "string"), value: f(2, "Any") },
  SecurityDefinitions: { additionalProperties: f(1, "NamedSecurityDefinitionsItem", true) },
  NamedSecurityDefinitionsItem: { name: f(1, "string"), value: f(2, "SecurityDefinitionsItem") },
  SecurityDefinitionsItem: { apiKeySecurity: f(2, "ApiKeySecurity") },
  ApiKeySecurity: { type: f(1, "string"), name: f(2, "string"), in: f(3, "string"), description: f(4, "string") },
  SecurityRequirement: { additionalProperties: f(1, "NamedStringArray", true) },
  NamedStringArray: { name: f(1, "string"), value: f(2, "StringArray") },
  StringArray: { value: f(1, "string", true) },
};

let documentType: protobuf.Type | undefined;
function typeOfDocument(): protobuf.Type {
  if (!documentType) {
    const root = protobuf.Root.fromJSON({ nested: { openapi: { nested: { v2: { nested: Object.fromEntries(Object.entries(MESSAGES).map(([name, fields]) => [name, { fields }])) } } } } });
    documentType = root.lookupType("openapi.v2.Document");
  }
  return documentType;
}

type Json = Record<string, unknown>;
const yamlAny = (value: unknown) => ({ yaml: stringify(value) });
const extensions = (value: Json) =>
  Object.entries(value)
    .filter(([key]) => key.startsWith("x-"))
    .map(([name, v]) => ({ name, value: yamlAny(v) }));

function schema(value: Json): Json {
  const out: Json = {};
  if (typeof value["$ref"] === "string") out["ref"] = value["$ref"];
  for (const key of ["format", "title", "description"]) if (typeof value[key] === "string") out[key] = value[key];
  if (value["default"] !== undefined) out["default"] = yamlAny(value["default"]);
  if (Array.isArray(value["required"])) out["required"] = value["required"];
  if (Array.isArray(value["enum"])) out["enum"] = value["enum"].map(yamlAny);
  if (typeof value["type"] === "string") out["type"] = { value: [value["type"]] };
  if (value["items"] && typeof value["items"] === "object") out["items"] = { schema: [schema(value["items"] as Json)] };
  if (typeof value["additionalProperties"] === "boolean") out["additionalProperties"] = { boolean: value["additionalProperties"] };
  else if (value["additionalProperties"] && typeof value["additionalProperties"] === "object") out["additionalProperties"] = { schema: schema(value["additionalProperties"] as Json) };
  if (Array.isArray(value["allOf"])) out["allOf"] = (value["allOf"] as Json[]).map(schema);
  if (value["properties"] && typeof value["properties"] === "object") {
    out["properties"] = { additionalProperties: Object.entries(value["properties"] as Record<string, Json>).map(([name, s]) => ({ name, value: schema(s) })) };
  }
  const ext = extensions(value);
  if (ext.length > 0) out["vendorExtension"] = ext;
  return out;
}

function parameter(p: Json): Json {
  if (p["in"] === "body") return { parameter: { bodyParameter: { name: p["name"], in: "body", required: p["required"] === true, ...(p["description"] ? { description: p["description"] } : {}), schema: schema(p["schema"] as Json) } } };
  const common = { name: p["name"], in: p["in"], required: p["required"] === true, ...(p["description"] ? { description: p["description"] } : {}), ...(p["type"] ? { type: p["type"] } : {}), ...(p["uniqueItems"] ? { uniqueItems: true } : {}) };
  return { parameter: { nonBodyParameter: p["in"] === "path" ? { pathParameterSubSchema: common } : { queryParameterSubSchema: common } } };
}

function operation(op: Json): Json {
  const responses = Object.entries((op["responses"] ?? {}) as Record<string, Json>).map(([name, r]) => ({
    name,
    value: { response: { description: r["description"], ...(r["schema"] ? { schema: { schema: schema(r["schema"] as Json) } } : {}) } },
  }));
  return {
    tags: op["tags"] ?? [],
    ...(op["description"] ? { description: op["description"] } : {}),
    operationId: op["operationId"],
    produces: op["produces"] ?? [],
    consumes: op["consumes"] ?? [],
    parameters: ((op["parameters"] ?? []) as Json[]).map(parameter),
    responses: { responseCode: responses },
    schemes: op["schemes"] ?? [],
    vendorExtension: extensions(op),
  };
}

/** Encodes a Swagger 2.0 document as gnostic's openapi.v2.Document. */
export function encodeSwaggerProto(doc: Json): Buffer {
  const paths = Object.entries((doc["paths"] ?? {}) as Record<string, Json>).map(([name, item]) => {
    const value: Json = {};
    for (const [method, op] of Object.entries(item)) {
      if (method === "parameters") value["parameters"] = (op as Json[]).map(parameter);
      else value[method] = operation(op as Json);
    }
    return { name, value };
  });
  const definitions = Object.entries((doc["definitions"] ?? {}) as Record<string, Json>).map(([name, s]) => ({ name, value: schema(s) }));
  const info = doc["info"] as Json;
  const message = {
    swagger: doc["swagger"],
    info: { title: info["title"], version: info["version"] },
    paths: { path: paths },
    definitions: { additionalProperties: definitions },
    securityDefinitions: { additionalProperties: [{ name: "BearerToken", value: { apiKeySecurity: { type: "apiKey", name: "authorization", in: "header", description: "Bearer Token authentication" } } }] },
    security: [{ additionalProperties: [{ name: "BearerToken", value: { value: [] } }] }],
  };
  const type = typeOfDocument();
  return Buffer.from(type.encode(type.fromObject(message)).finish());
}
