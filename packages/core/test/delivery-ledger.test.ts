import { DynamoDBClient, GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { mockClient } from "@spot-manager/aws-fakes";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { DeliveryLedgerError } from "../src/delivery/errors";
import { DELIVERY_RETENTION_SECONDS, DynamoDbDeliveryLedger, STALE_CLAIM_SECONDS } from "../src/delivery/ledger";
import { FakeTable } from "../../../test/delivery/dynamodb-table";

const dynamodb = mockClient(DynamoDBClient);
afterAll(() => dynamodb.restore());

const TABLE = "deliveries";
const ID = "72d3162e-cc78-11e3-81ab-4c9367dc0958";
const NOW = Date.parse("2024-05-14T17:58:27Z");
let table: FakeTable;
let ledger: DynamoDbDeliveryLedger;

beforeEach(() => {
  dynamodb.reset();
  table = new FakeTable(TABLE, "deliveryId");
  table.serve(dynamodb);
  ledger = new DynamoDbDeliveryLedger(new DynamoDBClient({}), TABLE);
});

const handled = { deliveryId: ID, outcome: "started" as const, buildId: "p:1", commit: "a".repeat(40), branch: "main", handledAt: new Date(NOW).toISOString() };

describe("the store of handled deliveries", () => {
  it("claims a delivery with a conditional put that expires after GitHub's redelivery window", async () => {
    const claim = await ledger.claim(ID, NOW);
    expect(claim.kind).toBe("claimed");
    expect(dynamodb).toReceiveCommandWith(PutItemCommand, { TableName: TABLE, ConditionExpression: "attribute_not_exists(#id)", ReturnValuesOnConditionCheckFailure: "ALL_OLD" });
    expect(table.items.get(ID)?.["expiresAt"]).toEqual({ N: String(NOW / 1000 + DELIVERY_RETENTION_SECONDS) });
  });

  it("a handled delivery is answered from the item the failed condition returns, without another read", async () => {
    const claim = await ledger.claim(ID, NOW);
    await ledger.complete(claim.kind === "claimed" ? claim.token : "", handled, NOW);
    expect(await ledger.claim(ID, NOW + 3600_000)).toEqual({ kind: "handled", delivery: handled });
    expect(dynamodb).not.toReceiveCommand(GetItemCommand);
  });

  it("a fresh claim of another invocation is in progress; a stale one is taken over, once", async () => {
    await ledger.claim(ID, NOW);
    expect(await ledger.claim(ID, NOW + 1_000)).toEqual({ kind: "in-progress", since: "2024-05-14T17:58:27.000Z" });
    const later = NOW + (STALE_CLAIM_SECONDS + 1) * 1000;
    const [a, b] = [await ledger.claim(ID, later), await ledger.claim(ID, later)];
    expect(a.kind).toBe("claimed");
    expect(b.kind).toBe("in-progress");
  });

  it("completing with a claim that was taken over fails; releasing it leaves the new claim alone", async () => {
    const first = await ledger.claim(ID, NOW);
    const second = await ledger.claim(ID, NOW + (STALE_CLAIM_SECONDS + 1) * 1000);
    if (first.kind !== "claimed" || second.kind !== "claimed") throw new Error("both should have claimed");
    await expect(ledger.complete(first.token, handled, NOW)).rejects.toThrowError(DeliveryLedgerError);
    await ledger.release(ID, first.token);
    expect(table.items.has(ID)).toBe(true);
    await ledger.release(ID, second.token);
    expect(table.items.has(ID)).toBe(false);
  });

  it("a store that cannot be reached is a DeliveryLedgerError naming the delivery", async () => {
    dynamodb.on(PutItemCommand).rejects(Object.assign(new Error("Requested resource not found"), { name: "ResourceNotFoundException" }));
    await expect(ledger.claim(ID, NOW)).rejects.toThrowError(`claiming delivery ${ID} failed: Requested resource not found`);
  });
});
