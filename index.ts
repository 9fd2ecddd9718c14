/**
 * jarvis-data: composition only. Config is parsed once (config/), components turn it into
 * resources (components/), and nothing here decides anything on its own.
 */
import * as pulumi from "@pulumi/pulumi";
import { loadStackConfig } from "./config/pulumi.ts";
import { containerCommon } from "./settings/containers.ts";
import { backupStorageProvider, dockerProvider } from "./components/providers.ts";
import { StackSecrets } from "./components/secrets.ts";
import { PrivateNetwork } from "./components/network.ts";
import { DevObjectStore, DEV_S3_ROOT_USER } from "./components/dev-object-store.ts";

const cfg = loadStackConfig(); // throws, listing every problem, before any resource exists
const stack = pulumi.getStack();
const prefix = `jarvis-${stack}`;

const dockerHost = dockerProvider(`${prefix}-docker`, cfg);
const onDocker = { providers: [dockerHost] };

const secrets = new StackSecrets(`${prefix}-secrets`, { provided: cfg.secrets });
const network = new PrivateNetwork(prefix, { labels: containerCommon(cfg, stack, "network").labels }, onDocker);

const devS3 =
  cfg.backup.storage.provider === "minio"
    ? new DevObjectStore(`${prefix}-s3`, { config: cfg, stack, network: network.name, rootPassword: secrets.values.s3RootPassword }, onDocker)
    : undefined;
const backupStorage = backupStorageProvider(
  `${prefix}-aws`,
  cfg,
  devS3 ? { endpoint: devS3.endpoint, accessKey: DEV_S3_ROOT_USER, secretKey: secrets.values.s3RootPassword } : {},
);

export const environment = cfg.environment;
export const networkName = network.name;
export const backupEndpoint = devS3?.endpoint ?? `https://s3.${cfg.backup.storage.region}.amazonaws.com`;

void backupStorage; // used by the backup vault (components/backup-vault.ts)
