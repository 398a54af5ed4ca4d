/**
 * The GitHub webhook payloads the delivery pipeline reads (`push`, `ping`), validated with zod and
 * turned into small normalized shapes. Fields GitHub adds later are ignored.
 */
import * as z from "zod";
import { MalformedEventError } from "../errors";
import { parseOrThrow } from "../events/envelope";

/** SHA-1 object ids, or SHA-256 ones for repositories in that format. */
const OBJECT_ID = z.string().regex(/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/, "must be a full commit id (40 or 64 hex digits)");

const ZERO_ID = /^0+$/;

const pushSchema = z.object({
  ref: z.string().min(1),
  before: OBJECT_ID,
  after: OBJECT_ID,
  created: z.boolean().default(false),
  deleted: z.boolean().default(false),
  forced: z.boolean().default(false),
  compare: z.string().optional(),
  repository: z.object({
    full_name: z.string().min(1),
    clone_url: z.string().optional(),
    html_url: z.string().optional(),
    default_branch: z.string().optional(),
  }),
  pusher: z.object({ name: z.string() }).optional(),
  sender: z.object({ login: z.string() }).optional(),
  head_commit: z
    .object({
      id: OBJECT_ID,
      message: z.string(),
      url: z.string().optional(),
      timestamp: z.string().optional(),
      author: z.object({ name: z.string().optional(), username: z.string().optional() }).optional(),
    })
    .nullable()
    .optional(),
});

const pingSchema = z.object({
  zen: z.string().optional(),
  hook_id: z.number().int().optional(),
  hook: z.object({ type: z.string().optional(), events: z.array(z.string()).default([]), config: z.object({ content_type: z.string().optional() }).optional() }).optional(),
  repository: z.object({ full_name: z.string() }).optional(),
});

export interface PushEvent {
  /** owner/name */
  repository: string;
  ref: string;
  /** Set for refs/heads/*. */
  branch?: string;
  /** Set for refs/tags/*. */
  tag?: string;
  /** The commit the ref points at after the push (all zeros when the ref was deleted). */
  commit: string;
  before: string;
  created: boolean;
  deleted: boolean;
  forced: boolean;
  headCommit?: { id: string; message: string; url?: string; author?: string };
  pusher?: string;
  compareUrl?: string;
}

export interface PingEvent {
  zen?: string;
  hookId?: number;
  /** The events the hook sends ("*" for all). */
  events: string[];
  contentType?: string;
  repository?: string;
}

/** Parses a `push` payload; throws MalformedEventError naming the bad field. */
export function parsePushEvent(payload: unknown): PushEvent {
  const push = parseOrThrow(pushSchema, payload, "GitHub push payload");
  const branch = push.ref.startsWith("refs/heads/") ? push.ref.slice("refs/heads/".length) : undefined;
  const tag = push.ref.startsWith("refs/tags/") ? push.ref.slice("refs/tags/".length) : undefined;
  const head = push.head_commit ?? undefined;
  const author = head?.author?.username ?? head?.author?.name;
  return {
    repository: push.repository.full_name,
    ref: push.ref,
    ...(branch !== undefined ? { branch } : {}),
    ...(tag !== undefined ? { tag } : {}),
    commit: push.after,
    before: push.before,
    created: push.created,
    deleted: push.deleted || ZERO_ID.test(push.after),
    forced: push.forced,
    ...(head ? { headCommit: { id: head.id, message: head.message, ...(head.url ? { url: head.url } : {}), ...(author ? { author } : {}) } } : {}),
    ...(push.pusher ? { pusher: push.pusher.name } : {}),
    ...(push.compare ? { compareUrl: push.compare } : {}),
  };
}

/** Parses a `ping` payload (sent when the hook is created). */
export function parsePingEvent(payload: unknown): PingEvent {
  const ping = parseOrThrow(pingSchema, payload, "GitHub ping payload");
  return {
    ...(ping.zen !== undefined ? { zen: ping.zen } : {}),
    ...(ping.hook_id !== undefined ? { hookId: ping.hook_id } : {}),
    events: ping.hook?.events ?? [],
    ...(ping.hook?.config?.content_type ? { contentType: ping.hook.config.content_type } : {}),
    ...(ping.repository ? { repository: ping.repository.full_name } : {}),
  };
}

/**
 * Decodes a verified body: JSON as sent with content type `application/json`, or the `payload`
 * field of a form when the hook was created with `application/x-www-form-urlencoded`.
 */
export function decodeWebhookBody(body: Uint8Array, contentType: string | undefined): unknown {
  let text = Buffer.from(body).toString("utf8");
  if ((contentType ?? "").toLowerCase().startsWith("application/x-www-form-urlencoded")) {
    const payload = new URLSearchParams(text).get("payload");
    if (payload === null) throw new MalformedEventError("form-encoded webhook body has no payload field");
    text = payload;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new MalformedEventError(`webhook body is not JSON (${error instanceof Error ? error.message : String(error)})`, { cause: error });
  }
}
