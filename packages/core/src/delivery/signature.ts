/**
 * GitHub webhook signatures: X-Hub-Signature-256 is `sha256=` + hex HMAC-SHA256 of the raw body
 * with the hook's secret. Compared in constant time, over the bytes as received, before anything
 * in the body or the other headers is looked at.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { WebhookSignatureError } from "./errors";

const SIGNATURE = /^sha256=([0-9a-f]{64})$/i;

/** The X-Hub-Signature-256 value GitHub sends for this body. */
export function signPayload(secret: string, body: Uint8Array | string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

/** Throws WebhookSignatureError unless `header` is the body's signature with this secret. */
export function verifySignature(secret: string, body: Uint8Array, header: string | undefined): void {
  if (header === undefined || header.trim() === "") throw new WebhookSignatureError("missing");
  const match = SIGNATURE.exec(header.trim());
  if (!match) throw new WebhookSignatureError("malformed");
  const expected = createHmac("sha256", secret).update(body).digest();
  const received = Buffer.from(match[1]!, "hex");
  // both are 32 bytes here; timingSafeEqual would throw on a length difference
  if (received.length !== expected.length || !timingSafeEqual(received, expected)) throw new WebhookSignatureError("mismatch");
}
