/**
 * aws-sdk-client-mock's `mockClient`, held to AWS's contracts: the same stub and API, but every
 * command sent to the faked client is first checked against its service's model. A request AWS
 * would refuse is answered as AWS would (a rejected `send` with a ValidationException naming the
 * service, operation, member path, rule and value) and recorded, and the configured fake never
 * runs for it. The project uses this `mockClient` everywhere; lint forbids the unchecked one.
 */
import type { Client, MetadataBearer } from "@smithy/types";
import { mockClient as uncheckedMockClient, type AwsStub } from "aws-sdk-client-mock";
import type { SinonSandbox } from "sinon";
import { checkRequest, type ModelsPolicy } from "./contract";

type SendFunction = ((this: unknown, ...args: unknown[]) => unknown) & { restore(): void };

interface Sendable {
  send: SendFunction;
}

export interface CheckedMockOptions {
  sandbox?: SinonSandbox;
  /**
   * "required" (the default, for tests): without the models every request fails, saying what to
   * install. "when-available": without them requests go unchecked (the local simulation).
   */
  models?: ModelsPolicy;
}

/** Like aws-sdk-client-mock's `mockClient`, with every request held to the service's published contract. */
export function mockClient<TInput extends object, TOutput extends MetadataBearer, TConfiguration>(
  client: Client<TInput, TOutput, TConfiguration> | { prototype: Client<TInput, TOutput, TConfiguration> },
  options: CheckedMockOptions = {},
): AwsStub<TInput, TOutput, TConfiguration> {
  const stub = uncheckedMockClient<TInput, TOutput, TConfiguration>(client, options.sandbox ? { sandbox: options.sandbox } : {});
  const target = ("send" in client ? client : client.prototype) as unknown as Sendable;
  const models = options.models ?? "required";
  guard(target, models);
  // `reset()` swaps the sinon stub for a fresh one; the check goes in front of the new one too.
  const reset = stub.reset.bind(stub);
  stub.reset = () => {
    reset();
    guard(target, models);
    return stub;
  };
  return stub;
}

/**
 * Puts the check in front of the sinon stub now on `target.send`. The guard passes for a sinon stub
 * (`isSinonProxy`, `restore`), so the library's own re-stubbing and `restore()` remove it cleanly.
 */
function guard(target: Sendable, models: ModelsPolicy): void {
  const stubbed = target.send;
  const checked = function (this: unknown, ...args: unknown[]) {
    const [command] = args;
    const client = (this ?? target) as Parameters<typeof checkRequest>[0];
    const failure = checkRequest(client, command as Parameters<typeof checkRequest>[1], models);
    if (!failure) return stubbed.apply(this, args);
    const callback = args.find((arg, index) => index > 0 && typeof arg === "function") as ((error: unknown) => void) | undefined;
    if (callback) {
      callback(failure.error);
      return undefined;
    }
    return Promise.reject(failure.error);
  };
  target.send = Object.assign(checked, { isSinonProxy: true, restore: () => stubbed.restore() });
}
