/**
 * Which webhook deliveries were handled, by X-GitHub-Delivery, for as long as GitHub can send one
 * again (a redelivery from the hook's page keeps its delivery id; GitHub offers it for 3 days).
 *
 * A delivery is claimed with a conditional put before its build is launched, then marked handled
 * with the build it started; a replay finds it handled and gets the original build back. A claim
 * whose invocation died (older than the stale limit) may be taken over; a launch that failed
 * releases its claim, so a redelivery can try again.
 */
import { randomUUID } from "node:crypto";
import { ConditionalCheckFailedException, DeleteItemCommand, GetItemCommand, PutItemCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DeliveryLedgerError } from "./errors";

/** GitHub keeps deliveries for redelivery this long; entries live a day longer. */
export const GITHUB_REDELIVERY_DAYS = 3;
export const DELIVERY_RETENTION_SECONDS = (GITHUB_REDELIVERY_DAYS + 1) * 24 * 3600;
/** A claim older than this belongs to an invocation that is gone (the webhook times out after 15 s). */
export const STALE_CLAIM_SECONDS = 60;

/** The table's key and TTL attribute, for the stack. */
export const DELIVERY_TABLE = { partitionKey: "deliveryId", ttlAttribute: "expiresAt" } as const;

export interface HandledDelivery {
  deliveryId: string;
  /** What the first handling answered. */
  outcome: "started" | "already-building";
  buildId: string;
  commit: string;
  branch: string;
  handledAt: string;
}

export type ClaimResult = { kind: "claimed"; token: string } | { kind: "handled"; delivery: HandledDelivery } | { kind: "in-progress"; since: string };

export interface DeliveryLedger {
  /** Claims a delivery for handling, or says who already handled it (or is handling it). */
  claim(deliveryId: string, now: number): Promise<ClaimResult>;
  /** Marks a claimed delivery handled, with the build it led to. */
  complete(token: string, delivery: HandledDelivery, now: number): Promise<void>;
  /** Gives a claim up (the launch failed), so a redelivery is handled afresh. */
  release(deliveryId: string, token: string): Promise<void>;
}

const text = (value: AttributeValue | undefined) => (value && "S" in value ? value.S : undefined);
const number = (value: AttributeValue | undefined) => (value && "N" in value && value.N !== undefined ? Number(value.N) : undefined);

export class DynamoDbDeliveryLedger implements DeliveryLedger {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async claim(deliveryId: string, now: number): Promise<ClaimResult> {
    return this.tryClaim(deliveryId, now, true);
  }

  private async tryClaim(deliveryId: string, now: number, again: boolean): Promise<ClaimResult> {
    const token = randomUUID();
    const claimed = await this.put(deliveryId, token, now, { ConditionExpression: "attribute_not_exists(#id)", ExpressionAttributeNames: { "#id": DELIVERY_TABLE.partitionKey } });
    if (claimed === true) return { kind: "claimed", token };
    const existing = claimed ?? (await this.read(deliveryId));
    // released between the put and the read: one more try, then leave it to the one that won
    if (!existing) return again ? this.tryClaim(deliveryId, now, false) : { kind: "in-progress", since: new Date(now).toISOString() };
    const handled = this.handled(deliveryId, existing);
    if (handled) return { kind: "handled", delivery: handled };
    const claimedAt = Date.parse(text(existing["claimedAt"]) ?? "");
    const expired = (number(existing[DELIVERY_TABLE.ttlAttribute]) ?? Number.POSITIVE_INFINITY) * 1000 <= now;
    if (!expired && Number.isFinite(claimedAt) && now - claimedAt < STALE_CLAIM_SECONDS * 1000) return { kind: "in-progress", since: new Date(claimedAt).toISOString() };
    // the claim's invocation is gone (or the entry outlived its TTL): take it over, unless someone else just did
    const previous = text(existing["claimToken"]) ?? "";
    const taken = await this.put(deliveryId, token, now, { ConditionExpression: "#token = :previous", ExpressionAttributeNames: { "#token": "claimToken" }, ExpressionAttributeValues: { ":previous": { S: previous } } });
    return taken === true ? { kind: "claimed", token } : { kind: "in-progress", since: new Date(now).toISOString() };
  }

  async complete(token: string, delivery: HandledDelivery, now: number): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { [DELIVERY_TABLE.partitionKey]: { S: delivery.deliveryId } },
          ConditionExpression: "#token = :token",
          UpdateExpression: "SET #outcome = :outcome, #build = :build, #commit = :commit, #branch = :branch, #handled = :handled, #expires = :expires",
          ExpressionAttributeNames: { "#token": "claimToken", "#outcome": "outcome", "#build": "buildId", "#commit": "commit", "#branch": "branch", "#handled": "handledAt", "#expires": DELIVERY_TABLE.ttlAttribute },
          ExpressionAttributeValues: {
            ":token": { S: token },
            ":outcome": { S: delivery.outcome },
            ":build": { S: delivery.buildId },
            ":commit": { S: delivery.commit },
            ":branch": { S: delivery.branch },
            ":handled": { S: delivery.handledAt },
            ":expires": { N: String(Math.floor(now / 1000) + DELIVERY_RETENTION_SECONDS) },
          },
        }),
      );
    } catch (error) {
      throw new DeliveryLedgerError(`marking delivery ${delivery.deliveryId} handled failed: ${(error as Error).message}`, { cause: error });
    }
  }

  async release(deliveryId: string, token: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: { [DELIVERY_TABLE.partitionKey]: { S: deliveryId } },
          ConditionExpression: "#token = :token",
          ExpressionAttributeNames: { "#token": "claimToken" },
          ExpressionAttributeValues: { ":token": { S: token } },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return;
      throw new DeliveryLedgerError(`releasing delivery ${deliveryId} failed: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Puts a fresh claim under a condition: true when it holds, else the item in the way (when DynamoDB returned it). */
  private async put(deliveryId: string, token: string, now: number, condition: Pick<ConstructorParameters<typeof PutItemCommand>[0], "ConditionExpression" | "ExpressionAttributeNames" | "ExpressionAttributeValues">): Promise<true | Record<string, AttributeValue> | undefined> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            [DELIVERY_TABLE.partitionKey]: { S: deliveryId },
            claimToken: { S: token },
            claimedAt: { S: new Date(now).toISOString() },
            [DELIVERY_TABLE.ttlAttribute]: { N: String(Math.floor(now / 1000) + DELIVERY_RETENTION_SECONDS) },
          },
          ...condition,
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return error.Item;
      throw new DeliveryLedgerError(`claiming delivery ${deliveryId} failed: ${(error as Error).message}`, { cause: error });
    }
  }

  private async read(deliveryId: string): Promise<Record<string, AttributeValue> | undefined> {
    try {
      const answer = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: { [DELIVERY_TABLE.partitionKey]: { S: deliveryId } }, ConsistentRead: true }));
      return answer.Item;
    } catch (error) {
      throw new DeliveryLedgerError(`reading delivery ${deliveryId} failed: ${(error as Error).message}`, { cause: error });
    }
  }

  private handled(deliveryId: string, item: Record<string, AttributeValue>): HandledDelivery | undefined {
    const handledAt = text(item["handledAt"]);
    const buildId = text(item["buildId"]);
    if (!handledAt || !buildId) return undefined;
    const outcome = text(item["outcome"]) === "already-building" ? "already-building" : "started";
    return { deliveryId, outcome, buildId, commit: text(item["commit"]) ?? "", branch: text(item["branch"]) ?? "", handledAt };
  }
}
