import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import {
  SECRET_NAMES,
  type JarvisConfig,
  type OptionalSecretName,
  type SecretName,
} from "../config/schema.ts";

export interface StackSecretsArgs {
  /** Values set with `pulumi config set --secret --path 'jarvis:secrets.<name>'`. */
  provided: JarvisConfig["secrets"];
}

/**
 * Every credential of the stack, as secret outputs. A value from `jarvis:secrets.<name>` wins;
 * otherwise a random one is generated once and kept (encrypted) in the stack's state.
 */
export class StackSecrets extends pulumi.ComponentResource {
  public readonly values: Readonly<Record<SecretName, pulumi.Output<string>>>;
  public readonly optional: Readonly<Partial<Record<OptionalSecretName, pulumi.Output<string>>>>;

  constructor(name: string, args: StackSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jarvis:security:StackSecrets", name, {}, opts);
    const values = {} as Record<SecretName, pulumi.Output<string>>;
    for (const key of SECRET_NAMES) {
      const given = args.provided[key];
      values[key] =
        given !== undefined
          ? pulumi.secret(given)
          : pulumi.secret(
              new random.RandomPassword(`${name}-${key}`, { length: 32, special: false }, { parent: this })
                .result,
            );
    }
    this.values = values;
    this.optional = {
      ...(args.provided.alertSmtpPassword
        ? { alertSmtpPassword: pulumi.secret(args.provided.alertSmtpPassword) }
        : {}),
      ...(args.provided.alertWebhookUrl
        ? { alertWebhookUrl: pulumi.secret(args.provided.alertWebhookUrl) }
        : {}),
    };
    this.registerOutputs({ values: this.values, optional: this.optional });
  }
}
