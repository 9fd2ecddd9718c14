/**
 * Grafana (A21): the Prometheus data source, the provider that loads the dashboards, and the
 * dashboards themselves, which are JSON files in monitoring/grafana/dashboards/ (edit one in
 * Grafana, export it, commit it back). The admin password arrives as a file; anonymous viewers
 * only where config allows it (dev by default, never prod unless set).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { MONITORING_HOSTS, MONITORING_PATHS, MONITORING_PORTS, type MonitoringConfig } from "./common.ts";

/** The dashboards' folder in the repository. */
export const DASHBOARDS_DIR = resolve(import.meta.dirname, "../../monitoring/grafana/dashboards");

export const GRAFANA_DATASOURCE_UID = "jarvis-prometheus";

/** Each dashboard file's name and its text, as committed (sorted by name). */
export function grafanaDashboards(dir = DASHBOARDS_DIR): { name: string; json: string }[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((name) => ({ name, json: readFileSync(join(dir, name), "utf8") }));
}

/** Anonymous read-only access: `jarvis:monitoring.grafana.anonymousViewers`, else on in dev only. */
export function grafanaAnonymous(cfg: Pick<MonitoringConfig, "environment" | "monitoring">): boolean {
  return cfg.monitoring.grafana.anonymousViewers ?? cfg.environment === "dev";
}

/** Grafana's environment: the admin login from a file, anonymous access per config, no phoning home. */
export function grafanaEnv(cfg: Pick<MonitoringConfig, "environment" | "monitoring">): string[] {
  const anonymous = grafanaAnonymous(cfg);
  return [
    "GF_SECURITY_ADMIN_USER=admin",
    `GF_SECURITY_ADMIN_PASSWORD__FILE=${MONITORING_PATHS.grafanaAdminPasswordFile}`,
    `GF_AUTH_ANONYMOUS_ENABLED=${anonymous}`,
    ...(anonymous ? ["GF_AUTH_ANONYMOUS_ORG_ROLE=Viewer"] : []),
    "GF_AUTH_DISABLE_SIGNOUT_MENU=false",
    "GF_USERS_ALLOW_SIGN_UP=false",
    "GF_ANALYTICS_REPORTING_ENABLED=false",
    "GF_ANALYTICS_CHECK_FOR_UPDATES=false",
  ];
}

/** The provisioning files: the data source and the dashboard provider. */
export function grafanaProvisioning(): {
  datasources: Record<string, unknown>;
  dashboards: Record<string, unknown>;
} {
  return {
    datasources: {
      apiVersion: 1,
      datasources: [
        {
          name: "Prometheus",
          uid: GRAFANA_DATASOURCE_UID,
          type: "prometheus",
          access: "proxy",
          url: `http://${MONITORING_HOSTS.prometheus}:${MONITORING_PORTS.prometheus}`,
          isDefault: true,
          editable: false,
        },
      ],
    },
    dashboards: {
      apiVersion: 1,
      providers: [
        {
          name: "jarvis",
          type: "file",
          disableDeletion: true,
          // Changes made in the UI are not kept: export the JSON and commit it.
          allowUiUpdates: false,
          options: { path: MONITORING_PATHS.grafanaDashboardsDir },
        },
      ],
    },
  };
}

/** The PromQL of every panel target of a dashboard's JSON (rows' nested panels included). */
export function panelQueries(json: string): { panel: string; expr: string }[] {
  const out: { panel: string; expr: string }[] = [];
  const walk = (panels: any[] = []) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ panel: p.title, expr: t.expr });
      walk(p.panels);
    }
  };
  walk(JSON.parse(json).panels);
  return out;
}
