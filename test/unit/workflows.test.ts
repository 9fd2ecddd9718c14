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
