/**
 * One DynamoDB table in memory behind aws-sdk-client-mock, with the conditional writes the delivery
 * store uses: `attribute_not_exists(#name)` and `#name = :value` conditions, ALL_OLD returned on a
 * failed condition (as ReturnValuesOnConditionCheckFailure asks), `SET #a = :a, ...` updates.
 */
import type {
  DynamoDBClient} from "@aws-sdk/client-dynamodb";
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
} from "@aws-sdk/client-dynamodb";
import type { AwsClientStub } from "aws-sdk-client-mock";

type Item = Record<string, AttributeValue>;

interface Conditional {
  TableName?: string;
  Key?: Item;
  Item?: Item;
  ConditionExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Item;
  ReturnValuesOnConditionCheckFailure?: string;
  UpdateExpression?: string;
}

const same = (a: AttributeValue | undefined, b: AttributeValue | undefined) => JSON.stringify(a) === JSON.stringify(b);

export class FakeTable {
  readonly items = new Map<string, Item>();

  constructor(
    readonly name: string,
    readonly key: string,
  ) {}

  /** Answers the table's commands on a mocked DynamoDBClient. */
  serve(dynamodb: AwsClientStub<DynamoDBClient>): void {
    dynamodb.on(PutItemCommand).callsFake((input: Conditional) => {
      const id = this.idOf(input.Item);
      this.check(input, this.items.get(id));
      this.items.set(id, structuredClone(input.Item ?? {}));
      return {};
    });
    dynamodb.on(GetItemCommand).callsFake((input: Conditional) => {
      const item = this.items.get(this.idOf(input.Key));
      return item ? { Item: structuredClone(item) } : {};
    });
    dynamodb.on(UpdateItemCommand).callsFake((input: Conditional) => {
      const id = this.idOf(input.Key);
      const item = this.items.get(id);
      this.check(input, item);
      const next: Item = { ...(item ?? input.Key ?? {}) };
      const assignments = (input.UpdateExpression ?? "").replace(/^SET\s+/, "").split(",");
      for (const assignment of assignments) {
        const [name, value] = assignment.split("=").map((part) => part.trim()) as [string, string];
        next[input.ExpressionAttributeNames?.[name] ?? name] = input.ExpressionAttributeValues?.[value] as AttributeValue;
      }
      this.items.set(id, next);
      return {};
    });
    dynamodb.on(DeleteItemCommand).callsFake((input: Conditional) => {
      const id = this.idOf(input.Key);
      this.check(input, this.items.get(id));
      this.items.delete(id);
      return {};
    });
  }

  private idOf(item: Item | undefined): string {
    const value = item?.[this.key];
    if (!value || !("S" in value) || !value.S) throw new Error(`item without ${this.key}`);
    return value.S;
  }

  private check(input: Conditional, existing: Item | undefined): void {
    if (input.TableName !== this.name) throw Object.assign(new Error(`Requested resource not found: Table: ${input.TableName} not found`), { name: "ResourceNotFoundException" });
    const condition = input.ConditionExpression;
    if (!condition) return;
    const names = input.ExpressionAttributeNames ?? {};
    const values = input.ExpressionAttributeValues ?? {};
    const notExists = /^attribute_not_exists\((#\w+)\)$/.exec(condition);
    const equals = /^(#\w+) = (:\w+)$/.exec(condition);
    let holds: boolean;
    if (notExists) holds = existing?.[names[notExists[1]!] ?? ""] === undefined;
    else if (equals) holds = existing !== undefined && same(existing[names[equals[1]!] ?? ""], values[equals[2]!]);
    else throw new Error(`condition not understood by the fake table: ${condition}`);
    if (holds) return;
    throw new ConditionalCheckFailedException({
      message: "The conditional request failed",
      $metadata: {},
      ...(input.ReturnValuesOnConditionCheckFailure === "ALL_OLD" && existing ? { Item: structuredClone(existing) } : {}),
    });
  }
}
