// The framework's floor for the serve benchmark: the same HTTP stack as `madkit serve` (hono on
// @hono/node-server) with one POST route that parses the JSON body and answers a fixed ~1 KB JSON, with no
// auth, validation, scoring or storage. Whatever latency this route has, the monitor cannot beat.

import { serve } from "@hono/node-server";
import { Hono } from "hono";
import type { AddressInfo } from "node:net";

const answer = { perHook: { a: 0, b: 0, c: 0 }, combined: 0, explanation: { note: "x".repeat(900) } };
const app = new Hono();
app.post("/v1/score", async (c) => {
  await c.req.json();
  return c.json(answer);
});
const server = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, () => {
  console.error(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
