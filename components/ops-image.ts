import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

export interface OpsImageArgs {
  /** Local image name and tag (no registry, no push). Default jarvis-data/ops:local. */
  imageName?: string;
  /** Build context: the repository root, relative to the Pulumi project (default "."). */
  context?: string;
  /**
   * The stack's PostgreSQL image, which the ops image builds on: pg_dump, pg_restore and
   * pgBackRest must be the server's own major version (a PostgreSQL 15 pg_dump refuses a 16 server).
   */
  postgresImage: pulumi.Input<string>;
  /**
   * The build's platform (jarvis:docker.platform): the postgres image's own, since a `FROM` of a
   * local image built for another platform goes to a registry instead, and fails.
   */
  platform: string;
}

/** The command that runs the CLI inside the image. */
export const OPS_CLI = ["jarvis-data"];
/** The image's unprivileged user (node); secret files are uploaded owned by it, mode 0400. */
export const OPS_UID = "1000";

/**
 * A small image of this repository (docker/ops/Dockerfile: the stack's PostgreSQL image + node 22 +
 * `npm ci --omit=dev`) that runs `jarvis-data ...`. The stack's one-shot jobs (migrations,
 * roles) and the ops agent run it on the private network, where the stores are reachable.
 */
export class OpsImage extends pulumi.ComponentResource {
  /** The image's name:tag, stable across rebuilds (jobs keyed on their own inputs use it). */
  public readonly imageName: pulumi.Output<string>;
  /** The built image's digest reference: changes whenever the image does (long-running services roll on it). */
  public readonly repoDigest: pulumi.Output<string>;
  public readonly cli: string[] = OPS_CLI;
  public readonly uid: string = OPS_UID;

  constructor(name: string, args: OpsImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jarvis:ops:OpsImage", name, {}, opts);
    const context = args.context ?? ".";
    const image = new docker.Image(
      `${name}-image`,
      {
        imageName: args.imageName ?? "jarvis-data/ops:local",
        build: {
          context,
          dockerfile: `${context}/docker/ops/Dockerfile`,
          platform: args.platform,
          args: { POSTGRES_IMAGE: args.postgresImage },
        },
        skipPush: true,
      },
      { parent: this },
    );
    this.imageName = image.imageName;
    this.repoDigest = image.repoDigest;
    this.registerOutputs({
      imageName: this.imageName,
      repoDigest: this.repoDigest,
      cli: this.cli,
      uid: this.uid,
    });
  }
}
