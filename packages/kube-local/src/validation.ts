/** Field validation in kube-apiserver's words, producing Status causes for 422 Invalid. */
import type { StatusCause } from "./errors";

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

export const required = (field: string): StatusCause => ({ reason: "FieldValueRequired", message: "Required value", field });

export const invalid = (field: string, value: unknown, detail: string): StatusCause => ({
  reason: "FieldValueInvalid",
  message: `Invalid value: ${JSON.stringify(value)}: ${detail}`,
  field,
});

export const forbidden = (field: string, detail: string): StatusCause => ({
  reason: "FieldValueForbidden",
  message: `Forbidden: ${detail}`,
  field,
});

export const notSupported = (field: string, value: unknown, allowed: readonly string[]): StatusCause => ({
  reason: "FieldValueNotSupported",
  message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${allowed.map((a) => `"${a}"`).join(", ")}`,
  field,
});

/** dryRun accepts only "All" (metav1 validation.ValidateDryRun); Go prints the rejected list with %#v. */
export function dryRun(field: string, values: readonly string[] | undefined): StatusCause[] {
  if (!values || values.every((value) => value === "All")) return [];
  return [
    {
      reason: "FieldValueNotSupported",
      message: `Unsupported value: []string{${values.map((value) => JSON.stringify(value)).join(", ")}}: supported values: "All"`,
      field,
    },
  ];
}

/** All annotations of an object together, keys and values, may not exceed 256 KiB (ValidateAnnotationsSize). */
export const TOTAL_ANNOTATION_SIZE_LIMIT_BYTES = 256 * 1024;

export function annotationsSize(field: string, annotations: Record<string, string> | undefined): StatusCause[] {
  let total = 0;
  for (const [key, value] of Object.entries(annotations ?? {})) total += Buffer.byteLength(key) + Buffer.byteLength(String(value));
  if (total <= TOTAL_ANNOTATION_SIZE_LIMIT_BYTES) return [];
  return [{ reason: "FieldValueTooLong", message: `Too long: may not be more than ${TOTAL_ANNOTATION_SIZE_LIMIT_BYTES} bytes`, field }];
}

export const duplicate = (field: string, value: unknown): StatusCause => ({
  reason: "FieldValueDuplicate",
  message: `Duplicate value: ${JSON.stringify(value)}`,
  field,
});

export function dns1123Subdomain(field: string, value: string): StatusCause[] {
  if (value.length > 253) return [invalid(field, value, "must be no more than 253 characters")];
  if (!DNS1123_SUBDOMAIN.test(value)) {
    return [
      invalid(
        field,
        value,
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
      ),
    ];
  }
  return [];
}

export function dns1123Label(field: string, value: string): StatusCause[] {
  if (value.length > 63) return [invalid(field, value, "must be no more than 63 characters")];
  if (!DNS1123_LABEL.test(value)) {
    return [
      invalid(
        field,
        value,
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
      ),
    ];
  }
  return [];
}

/** Label or annotation key: optional DNS subdomain prefix, then a qualified name. */
export function qualifiedName(field: string, key: string): StatusCause[] {
  const slash = key.lastIndexOf("/");
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  const causes: StatusCause[] = [];
  if (prefix !== undefined && (prefix.length === 0 || dns1123Subdomain(field, prefix).length > 0)) {
    causes.push(invalid(field, key, "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"));
  }
  if (name.length === 0 || name.length > 63 || !QUALIFIED_NAME.test(name)) {
    causes.push(
      invalid(
        field,
        key,
        "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
      ),
    );
  }
  return causes;
}

export function labels(field: string, value: Record<string, string> | undefined): StatusCause[] {
  const causes: StatusCause[] = [];
  for (const [key, v] of Object.entries(value ?? {})) {
    causes.push(...qualifiedName(field, key));
    if (typeof v !== "string" || v.length > 63 || !LABEL_VALUE.test(v)) {
      causes.push(
        invalid(
          field,
          v,
          "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
        ),
      );
    }
  }
  return causes;
}

export function intOrPercent(field: string, value: unknown): StatusCause[] {
  if (value === undefined || value === null) return [];
  if (typeof value === "number") {
    return Number.isInteger(value) && value >= 0 ? [] : [invalid(field, value, "must be greater than or equal to 0")];
  }
  if (typeof value === "string") {
    const match = /^(\d+)%$/.exec(value);
    if (!match) return [invalid(field, value, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')")];
    return Number(match[1]) > 100 ? [invalid(field, value, "must not be greater than 100%")] : [];
  }
  return [invalid(field, value, "must be an integer or percentage (e.g '5%')")];
}
