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

describe("auth", () => {
  it("POST /login returns a bearer token", async () => {
    const res = await post("/login", { username: "ada", password: "secret" });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.tokenType, "Bearer");
    assert.equal(typeof body.accessToken, "string");
    assert.ok(body.accessToken.length >= 32);
    assert.equal(body.expiresIn, 900);
    assert.deepEqual(body.user, { username: "ada" });
  });

  it("POST /login rejects missing credentials and bad JSON", async () => {
    assert.equal((await post("/login", { username: "ada" })).status, 400);
    assert.equal((await post("/login", "{not json")).status, 400);
    assert.equal((await post("/login", [1, 2])).status, 400);
  });

  it("GET /login is 405", async () => {
    const res = await fetch(`${base}/login`);
    assert.equal(res.status, 405);
    assert.equal(res.headers.get("allow"), "POST");
  });

  it("GET /tokens/ttl parses ms-style durations", async () => {
    const res = await fetch(`${base}/tokens/ttl?value=2h`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { input: "2h", milliseconds: 7_200_000, seconds: 7200, human: "2 hours" });
  });

  it("GET /tokens/ttl defaults to 15m", async () => {
    const body = await (await fetch(`${base}/tokens/ttl`)).json();
    assert.equal(body.milliseconds, 900_000);
  });

  it("GET /tokens/ttl rejects invalid values", async () => {
    for (const value of ["abc", "", "-5m"]) {
      const res = await fetch(`${base}/tokens/ttl?value=${encodeURIComponent(value)}`);
      assert.equal(res.status, 400, value);
    }
  });
});
