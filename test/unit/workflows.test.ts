import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";
import YAML from "yaml";

const pkg = JSON.parse(readFileSync("package.json", "utf8")) as {
  scripts: Record<string, string>;
  bin: Record<string, string>;
};
const workflows = readdirSync(".github/workflows").filter((f) => /\.ya?ml$/.test(f));

/** Every command a `run:` block names that lives in this repository. */
function references(run: string): { kind: string; name: string }[] {
  const refs: { kind: string; name: string }[] = [];
  for (const m of run.matchAll(/npm run (?:--silent )?([\w:-]+)/g))
    refs.push({ kind: "npm script", name: m[1]! });
  if (/\bnpm test\b/.test(run)) refs.push({ kind: "npm script", name: "test" });
  for (const m of run.matchAll(/(?:bash |sudo bash |\.\/)(scripts\/[\w./-]+|\.ci\/[\w./-]+)/g))
    refs.push({ kind: "file", name: m[1]! });
  for (const m of run.matchAll(/npx ([\w-]+)/g)) refs.push({ kind: "bin", name: m[1]! });
  for (const m of run.matchAll(/(sql\/[\w/]+)\//g)) refs.push({ kind: "dir", name: m[1]! });
  return refs;
}

test("there are workflows for pull requests and for deploys", () => {
  assert.ok(workflows.length >= 2, workflows.join());
});

for (const file of workflows) {
  test(`${file} parses and references only scripts that exist`, () => {
    const doc = YAML.parse(readFileSync(`.github/workflows/${file}`, "utf8"));
    assert.ok(doc.on, "has triggers");
    assert.ok(doc.jobs && Object.keys(doc.jobs).length > 0, "has jobs");
    let checked = 0;
    for (const [jobName, job] of Object.entries<any>(doc.jobs)) {
      for (const step of job.steps ?? []) {
        if (step.run) {
          for (const ref of references(step.run)) {
            checked++;
            if (ref.kind === "npm script")
              assert.ok(pkg.scripts[ref.name], `${jobName}: npm script "${ref.name}" is not in package.json`);
            if (ref.kind === "file")
              assert.ok(existsSync(ref.name), `${jobName}: ${ref.name} does not exist`);
            if (ref.kind === "dir")
              assert.ok(existsSync(ref.name), `${jobName}: ${ref.name}/ does not exist`);
            if (ref.kind === "bin")
              assert.ok(
                existsSync(`node_modules/.bin/${ref.name}`) || pkg.bin[ref.name],
                `${jobName}: npx ${ref.name} is not installed by npm ci`,
              );
          }
        }
        if (step.with?.policyPacks)
          assert.ok(
            existsSync(`${step.with.policyPacks}/index.ts`),
            `${jobName}: policy pack ${step.with.policyPacks} does not exist`,
          );
        if (step.with?.["stack-name"] && !String(step.with["stack-name"]).includes("${{")) {
          assert.ok(
            existsSync(`Pulumi.${step.with["stack-name"]}.yaml`),
            `${jobName}: no Pulumi.${step.with["stack-name"]}.yaml`,
          );
        }
      }
      if (job.strategy?.matrix?.stack)
        for (const s of job.strategy.matrix.stack)
          assert.ok(existsSync(`Pulumi.${s}.yaml`), `${jobName}: no Pulumi.${s}.yaml`);
    }
    assert.ok(checked > 0, "the workflow runs at least one command of this repository");
  });
}

test("the deploy to prod waits for an approval (a protected environment) and runs after dev", () => {
  const doc = YAML.parse(readFileSync(".github/workflows/deploy.yml", "utf8"));
  assert.equal(doc.jobs.prod.environment, "production");
  assert.equal(doc.jobs.prod.needs, "dev");
  const up = doc.jobs.prod.steps.find((s: any) => s.uses?.startsWith("pulumi/actions"));
  assert.equal(up.with.command, "up");
});

test("CI runs exactly the README's test command after installing the test servers", () => {
  const ci = readFileSync(".ci/run", "utf8");
  const readme = readFileSync("README.md", "utf8");
  assert.match(readme, /npm ci && npm test/);
  const lines = ci
    .split("\n")
    .filter((l) => l.trim() && !l.startsWith("#") && !l.startsWith("set ") && !l.startsWith("cd "));
  assert.deepEqual(lines, ["bash scripts/install-test-deps.sh", "npm ci", "npm test"]);
});

/** The lines of a workflow job's `run:` steps, trimmed, without comments. */
const runLines = (job: any): string[] =>
  (job.steps ?? [])
    .flatMap((s: any) => String(s.run ?? "").split("\n"))
    .map((l: string) => l.trim())
    .filter((l: string) => l && !l.startsWith("#"));

test("e2e: up of dev with a throwaway passphrase and a file backend, the CLI, a no-op second up, destroy", () => {
  const doc = YAML.parse(readFileSync(".github/workflows/e2e.yml", "utf8"));
  const job = doc.jobs.dev;
  assert.match(job.env.PULUMI_BACKEND_URL, /^file:\/\//, "a local backend");
  assert.ok(
    !String(job.env.PULUMI_CONFIG_PASSPHRASE).includes("secrets."),
    "a throwaway passphrase, no secret",
  );
  assert.ok(
    job.steps.some((s: any) => s.uses?.startsWith("pulumi/actions") && !s.with?.command),
    "installs the Pulumi CLI",
  );
  const lines = runLines(job);
  const order = [
    "npm run deploy -- dev --yes --skip-preview",
    'docker exec "$agent" jarvis-data status --json',
    'docker exec "$agent" jarvis-data backup all --json',
    'docker exec "$agent" jarvis-data drill --json',
    "npm run deploy -- dev --yes --skip-preview --expect-no-changes",
    "pulumi destroy --stack dev --yes --skip-preview",
  ];
  const at = order.map((cmd) => lines.indexOf(cmd));
  assert.ok(
    at.every((i) => i >= 0),
    `missing: ${order.filter((_, i) => at[i]! < 0).join(" | ")}`,
  );
  assert.deepEqual(
    [...at].sort((a, b) => a - b),
    at,
    "in this order",
  );
  const destroy = job.steps.find((s: any) => String(s.run ?? "").includes("pulumi destroy"));
  assert.equal(destroy.if, "always()", "destroy runs even after a failure");
  assert.ok(existsSync("scripts/deploy.sh") && pkg.scripts.deploy === "bash scripts/deploy.sh");
});

test("e2e runs the README's commands, word for word", () => {
  const readme = readFileSync("README.md", "utf8");
  const doc = YAML.parse(readFileSync(".github/workflows/e2e.yml", "utf8"));
  const commands = runLines(doc.jobs.dev).filter((l) =>
    /^(npm run deploy|docker exec|pulumi |agent=)/.test(l),
  );
  assert.ok(commands.length >= 6);
  for (const cmd of commands) assert.ok(readme.includes(cmd), `the README does not show: ${cmd}`);
  // The stack output it reads exists.
  assert.match(readFileSync("index.ts", "utf8"), /export const opsAgentContainer\b/);
});

test("PR previews: each stack behind its own environment, read-only AWS keys, no ssh key", () => {
  const doc = YAML.parse(readFileSync(".github/workflows/pull-request.yml", "utf8"));
  const preview = doc.jobs.preview;
  assert.equal(preview.environment, "preview-${{ matrix.stack }}");
  assert.match(preview.env.AWS_ACCESS_KEY_ID, /secrets\.AWS_READONLY_ACCESS_KEY_ID/);
  assert.match(preview.env.AWS_SECRET_ACCESS_KEY, /secrets\.AWS_READONLY_SECRET_ACCESS_KEY/);
  const text = JSON.stringify(preview);
  assert.ok(!/ci-ssh|SSH_KEY|KNOWN_HOSTS/.test(text), "no ssh key reaches a preview");
  assert.ok(!/secrets\.AWS_ACCESS_KEY_ID|secrets\.AWS_SECRET_ACCESS_KEY/.test(text), "no deploy keys");
  assert.ok(preview.needs.includes("config"), "after the config check against the deployed files");
  const check = runLines(doc.jobs.config).find((l) => l.includes("config check"));
  assert.match(check!, /--previous/);
});
