/**
 * The log shipper's config (Vector, settings/monitoring/logs.ts) and the log families (A12).
 * Vector itself is not installable on this machine (no Debian package, no npm package), so
 * `vector validate` cannot run here: these tests check the generated config's wiring instead,
 * and docs/monitoring.md says how to validate it where Vector runs.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseConfig } from "../../config/schema.ts";
import { fileFamily } from "../../core/retention/logs.ts";
import { LOG_FILE_TEMPLATE, logFamily, logRetentionDays, vectorConfig } from "../../settings/monitoring.ts";

const cfg = parseConfig({ environment: "dev" });

test("the shipper reads Docker through the proxy, writes per-container files and counts lines by level", () => {
  const v = vectorConfig(cfg, {
    dockerUrl: "http://docker-proxy:2375",
    selfName: "jarvis-dev-log-shipper",
  }) as any;
  assert.deepEqual(v.sources.containers, {
    type: "docker_logs",
    docker_host: "http://docker-proxy:2375",
    exclude_containers: ["jarvis-dev-log-shipper"],
  });
  assert.deepEqual(v.transforms.classify.inputs, ["containers"]);
  assert.match(
    v.transforms.classify.source,
    /\.level = if match\(to_string\(\.message\) \?\? "", r'\(\?i\)\\b\(ERROR\|CRITICAL\|FATAL\|PANIC\)\\b'\)/,
  );
  assert.deepEqual(v.sinks.files.inputs, ["classify"]);
  assert.equal(v.sinks.files.path, "/var/log/jarvis/{{ container }}/{{ family }}-%Y-%m-%d.log");
  assert.equal(LOG_FILE_TEMPLATE, v.sinks.files.path);
  const metric = v.transforms.count.metrics[0];
  assert.equal(`${metric.namespace}_${metric.name}`, "jarvis_log_lines_total");
  assert.deepEqual(metric.tags, { container: "{{ container }}", level: "{{ level }}" });
  assert.deepEqual(v.sinks.metrics.inputs, ["count"]);
  assert.equal(v.sinks.metrics.address, "0.0.0.0:9598");
});

test("the error pattern comes from config, and one that would break the VRL literal is refused by the schema", () => {
  const own = parseConfig({ environment: "dev", logs: { shipper: { errorPattern: "\\[E\\]" } } });
  const v = vectorConfig(own, { dockerUrl: "http://d:2375", selfName: "s" }) as any;
  assert.match(v.transforms.classify.source, /r'\(\?i\)\\\[E\\\]'/);
  assert.throws(
    () => parseConfig({ environment: "dev", logs: { shipper: { errorPattern: "it's" } } }),
    /jarvis:logs\.shipper\.errorPattern: cannot contain a single quote/,
  );
});

test("log families and their days follow A12: api 14, memory 30, voice 7, performance 14, others 30", () => {
  assert.deepEqual(logRetentionDays(cfg), { default: 30, api: 14, memory: 30, voice: 7, performance: 14 });
  assert.equal(logFamily("jarvis_memory_db"), "memory");
  assert.equal(logFamily("jarvis_brain"), "default");
  assert.equal(fileFamily("jarvis_brain/voice-2026-11-01.log"), "voice");
  assert.equal(
    fileFamily("jarvis-api/default-2026-11-01.log"),
    "api",
    "the container's name when the file's says nothing",
  );
  assert.equal(fileFamily("jarvis_brain/other.log"), "default");
});
