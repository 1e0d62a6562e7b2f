import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { createApp, SERVICE_NAME } from "./app";

let server: http.Server;
let base: string;

before(async () => {
  server = http.createServer(createApp({ healthPath: "/healthz", version: "9.9.9" }));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function post(path: string, body: unknown): Promise<Response> {
  return fetch(base + path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

describe("health", () => {
  it("serves the configured health path", async () => {
    const res = await fetch(`${base}/healthz`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
    const body = await res.json();
    assert.equal(body.status, "healthy");
    assert.equal(body.service, SERVICE_NAME);
    assert.equal(body.version, "9.9.9");
    assert.ok(!Number.isNaN(Date.parse(body.timestamp)));
    assert.equal(typeof body.uptime, "number");
  });

  it("defaults to /health and the package version", async () => {
    const saved = { HEALTH_PATH: process.env.HEALTH_PATH, APP_VERSION: process.env.APP_VERSION };
    delete process.env.HEALTH_PATH;
    delete process.env.APP_VERSION;
    const local = http.createServer(createApp());
    await new Promise<void>((resolve) => local.listen(0, "127.0.0.1", resolve));
    try {
      const res = await fetch(`http://127.0.0.1:${(local.address() as AddressInfo).port}/health`);
      assert.equal(res.status, 200);
      assert.equal((await res.json()).version, "1.0.0");
    } finally {
      local.closeAllConnections();
      await new Promise((resolve) => local.close(resolve));
      for (const [k, v] of Object.entries(saved)) if (v !== undefined) process.env[k] = v;
    }
  });

  it("rejects other methods with 405", async () => {
    const res = await post("/healthz", {});
    assert.equal(res.status, 405);
    assert.equal(res.headers.get("allow"), "GET, HEAD");
  });

  it("returns JSON 404 for unknown paths", async () => {
    const res = await fetch(`${base}/nope`);
    assert.equal(res.status, 404);
    assert.deepEqual(await res.json(), { error: "not found", path: "/nope" });
  });
});

describe("records", () => {
  it("GET /records lists all records", async () => {
    const body = await (await fetch(`${base}/records`)).json();
    assert.equal(body.count, body.records.length);
    assert.ok(body.count >= 2);
  });

  it("GET /records?patientId= filters", async () => {
    const body = await (await fetch(`${base}/records?patientId=1`)).json();
    assert.ok(body.records.length >= 1);
    assert.ok(body.records.every((r: { patientId: string }) => r.patientId === "1"));
  });

  it("GET /records/:id returns one record or 404", async () => {
    assert.equal((await (await fetch(`${base}/records/r1`)).json()).id, "r1");
    assert.equal((await fetch(`${base}/records/missing`)).status, 404);
  });

  it("POST /records is 405", async () => {
    assert.equal((await post("/records", {})).status, 405);
  });
});
