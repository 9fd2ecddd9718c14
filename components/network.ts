import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

export interface PrivateNetworkArgs {
  /** Labels applied to the network. */
  labels: { label: string; value: string }[];
}

/** The stack's private bridge network: the stores talk to each other here, not on the host. */
export class PrivateNetwork extends pulumi.ComponentResource {
  public readonly name: pulumi.Output<string>;

  constructor(name: string, args: PrivateNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jarvis:network:PrivateNetwork", name, {}, opts);
    const net = new docker.Network(
      `${name}-net`,
      { name: `${name}-net`, driver: "bridge", attachable: true, labels: args.labels },
      { parent: this },
    );
    this.name = net.name;
    this.registerOutputs({ name: this.name });
  }
}
