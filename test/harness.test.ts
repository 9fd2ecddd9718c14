import assert from "node:assert/strict";
import { test } from "node:test";
import pg from "pg";
import { createClient } from "redis";
import { chromaClient, precomputedEmbeddings } from "../core/chroma.ts";
import { S3Client, PutObjectCommand, GetObjectCommand, CreateBucketCommand } from "@aws-sdk/client-s3";
import { createDatabase, useServices } from "./harness/index.ts";

const { postgres, redis, chroma, s3 } = await useServices("postgres", "redis", "chroma", "s3");

test("postgres answers a nearest-neighbour query on the vector type, with pg_cron and pg_partman loadable", async (t) => {
  const db = await createDatabase(postgres);
  t.after(() => db.drop());
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    await c.query("create extension vector");
    await c.query("create table v (id int, e vector(3))");
    await c.query("insert into v values (1, '[1,0,0]'), (2, '[0,1,0]'), (3, '[0.9,0.1,0]')");
    const { rows } = await c.query("select id from v order by e <=> '[1,0,0]' limit 2");
    assert.deepEqual(
      rows.map((r) => r.id),
      [1, 3],
    );
    await c.query("create schema partman; create extension pg_partman schema partman");
    const v = await c.query("select extversion from pg_extension where extname = 'pg_partman'");
    assert.match(v.rows[0].extversion, /^5\./);
  } finally {
    await c.end();
  }
  const cron = new pg.Client({ connectionString: postgres.url("jarvis") });
  await cron.connect();
  try {
    await cron.query("create extension if not exists pg_cron");
    const { rows } = await cron.query("show cron.database_name");
    assert.equal(rows[0]["cron.database_name"], "jarvis");
  } finally {
    await cron.end();
  }
});

test("postgres runs with the container's initdb options: data checksums on, SCRAM over TCP", async () => {
  const c = new pg.Client({ connectionString: postgres.url() });
  await c.connect();
  try {
    assert.equal((await c.query("show data_checksums")).rows[0].data_checksums, "on");
    const hba = await c.query("select type, auth_method from pg_hba_file_rules where type = 'host'");
    assert.ok(
      hba.rows.length > 0 && hba.rows.every((r) => r.auth_method === "scram-sha-256"),
      JSON.stringify(hba.rows),
    );
  } finally {
    await c.end();
  }
});

test("redis stores and returns a value", async () => {
  const c = createClient({ url: redis.url("admin") });
  await c.connect();
  try {
    const key = `harness:${process.pid}:${Date.now()}`;
    await c.set(key, "hello", { EX: 60 });
    assert.equal(await c.get(key), "hello");
  } finally {
    await c.quit();
  }
});

test("chroma adds records and answers a similarity query", async () => {
  const client = chromaClient(chroma.url, chroma.token);
  const name = `harness_${process.pid}_${Date.now()}`;
  const col = await client.createCollection({ name, embeddingFunction: precomputedEmbeddings });
  await col.add({
    ids: ["a", "b"],
    embeddings: [
      [1, 0, 0],
      [0, 1, 0],
    ],
    documents: ["alpha", "beta"],
  });
  const res = await col.query({ queryEmbeddings: [[0.9, 0.1, 0]], nResults: 1 });
  assert.deepEqual(res.ids, [["a"]]);
  assert.deepEqual(res.documents, [["alpha"]]);
  await client.deleteCollection({ name });
});

test("the S3 API stores and returns an object", async () => {
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
  const bucket = `harness-${process.pid}-${Date.now()}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: "a/b.txt", Body: "payload" }));
  const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: "a/b.txt" }));
  assert.equal(await got.Body!.transformToString(), "payload");
});
