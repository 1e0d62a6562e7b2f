import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import ms from "ms";

export const SERVICE_NAME = "auth-service";

/** APP_VERSION (set in the image), else the package.json version, else "dev". */
export function serviceVersion(): string {
  if (process.env.APP_VERSION) return process.env.APP_VERSION;
  try {
    // dist/app.js and src/app.ts both sit one level below package.json.
    const pkg = JSON.parse(readFileSync(join(__dirname, "..", "package.json"), "utf8")) as { version?: unknown };
    if (typeof pkg.version === "string" && pkg.version) return pkg.version;
  } catch {
    // fall through
  }
  return "dev";
}

export interface AppOptions {
  healthPath?: string;
  version?: string;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(payload),
    ...headers,
  });
  res.end(res.req.method === "HEAD" ? undefined : payload);
}

const MAX_BODY_BYTES = 64 * 1024;

/** Reads and parses a JSON request body (objects only, at most 64 KiB). */
export async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, "request body too large");
    chunks.push(chunk as Buffer);
  }
  if (size === 0) throw new HttpError(400, "request body must be a JSON object");
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new HttpError(400, "request body is not valid JSON");
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new HttpError(400, "request body must be a JSON object");
  }
  return parsed as Record<string, unknown>;
}

function allow(res: ServerResponse, methods: string): void {
  sendJson(res, 405, { error: "method not allowed" }, { Allow: methods });
}

/** Builds the request handler. Options default to HEALTH_PATH / APP_VERSION from the environment. */
export function createApp(options: AppOptions = {}): RequestListener {
  const healthPath = options.healthPath ?? (process.env.HEALTH_PATH || "/health");
  const version = options.version ?? serviceVersion();

  return (req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const method = req.method ?? "GET";

    if (url.pathname === healthPath) {
      if (method !== "GET" && method !== "HEAD") return allow(res, "GET, HEAD");
      return sendJson(res, 200, {
        status: "healthy",
        service: SERVICE_NAME,
        version,
        timestamp: new Date().toISOString(),
        uptime: process.uptime(),
      });
    }

    const route = ROUTES.find((r) => r.match(url.pathname));
    if (!route) return sendJson(res, 404, { error: "not found", path: url.pathname });
    const handler = route.methods[method];
    if (!handler) return allow(res, Object.keys(route.methods).join(", "));

    Promise.resolve()
      .then(() => handler(req, res, url, route.match(url.pathname) ?? {}))
      .catch((err: unknown) => {
        if (res.headersSent) return res.destroy();
        if (err instanceof HttpError) return sendJson(res, err.status, { error: err.message });
        process.stderr.write(`${SERVICE_NAME}: unhandled error: ${String(err)}\n`);
        sendJson(res, 500, { error: "internal server error" });
      });
  };
}

type Params = Record<string, string>;
type Handler = (req: IncomingMessage, res: ServerResponse, url: URL, params: Params) => void | Promise<void>;
interface Route {
  match: (pathname: string) => Params | undefined;
  methods: Record<string, Handler>;
}

/** Matches "/users/:id" style patterns; returns the decoded params or undefined. */
function path(pattern: string): (pathname: string) => Params | undefined {
  const parts = pattern.split("/");
  return (pathname) => {
    const actual = pathname.split("/");
    if (actual.length !== parts.length) return undefined;
    const params: Params = {};
    for (let i = 0; i < parts.length; i++) {
      if (parts[i].startsWith(":")) {
        if (!actual[i]) return undefined;
        try {
          params[parts[i].slice(1)] = decodeURIComponent(actual[i]);
        } catch {
          return undefined;
        }
      } else if (parts[i] !== actual[i]) {
        return undefined;
      }
    }
    return params;
  };
}

export const DEFAULT_TOKEN_TTL = "15m";

/** Parses a TTL such as "15m", "2h" or "3600000" into milliseconds; undefined if invalid or not positive. */
export function parseTtl(value: string): number | undefined {
  let parsed: number | undefined;
  try {
    parsed = ms(value);
  } catch {
    return undefined;
  }
  return typeof parsed === "number" && Number.isFinite(parsed) && parsed > 0 ? parsed : undefined;
}

function tokenTtl(): number {
  return parseTtl(process.env.TOKEN_TTL || DEFAULT_TOKEN_TTL) ?? (ms(DEFAULT_TOKEN_TTL) as number);
}

const ROUTES: Route[] = [
  {
    // Stub login: any non-empty username/password pair gets an opaque bearer token.
    match: path("/login"),
    methods: {
      POST: async (req, res) => {
        const body = await readJson(req);
        const { username, password } = body;
        if (typeof username !== "string" || !username || typeof password !== "string" || !password) {
          throw new HttpError(400, "username and password are required");
        }
        const ttl = tokenTtl();
        sendJson(res, 200, {
          accessToken: randomBytes(24).toString("base64url"),
          tokenType: "Bearer",
          expiresIn: Math.floor(ttl / 1000),
          expiresAt: new Date(Date.now() + ttl).toISOString(),
          user: { username },
        });
      },
    },
  },
  {
    // GET /tokens/ttl?value=15m -> the TTL in ms/s; without ?value the configured TOKEN_TTL.
    match: path("/tokens/ttl"),
    methods: {
      GET: (_req, res, url) => {
        const input = url.searchParams.get("value") ?? (process.env.TOKEN_TTL || DEFAULT_TOKEN_TTL);
        const milliseconds = parseTtl(input);
        if (milliseconds === undefined) {
          throw new HttpError(400, `invalid ttl ${JSON.stringify(input)}: use e.g. "30s", "15m", "2h", "7d"`);
        }
        sendJson(res, 200, {
          input,
          milliseconds,
          seconds: Math.floor(milliseconds / 1000),
          human: ms(milliseconds, { long: true }),
        });
      },
    },
  },
];
