/** A Secrets Manager secret read once and kept (per cold start); a failed read is tried again next time. */
import { GetSecretValueCommand, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SecretUnavailableError } from "./errors";

export class CachedSecret {
  private value: Promise<string> | undefined;

  constructor(
    private readonly client: SecretsManagerClient,
    readonly secretId: string,
  ) {}

  /** The secret's string value; throws SecretUnavailableError when it cannot be read or is empty. */
  get(): Promise<string> {
    this.value ??= this.read().catch((error: unknown) => {
      this.value = undefined;
      throw error;
    });
    return this.value;
  }

  private async read(): Promise<string> {
    let secretString: string | undefined;
    try {
      secretString = (await this.client.send(new GetSecretValueCommand({ SecretId: this.secretId }))).SecretString;
    } catch (error) {
      throw new SecretUnavailableError(this.secretId, `GetSecretValue failed: ${(error as Error).message}`, { cause: error });
    }
    if (secretString === undefined || secretString === "") throw new SecretUnavailableError(this.secretId, "has no string value");
    return secretString;
  }
}
