// When a route's work is no longer wanted: its request timed out (the front door has answered 504 by then)
// or its client went away. Work handed to a worker thread is cancelled through `signal`; nothing is written
// to the store once `live()` is false, so a request answered 504 leaves no result behind.

import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { MonitorEnv } from "./front-door.js";

export interface RequestDeadline {
  /** Aborts when the request's time limit has passed or its client closed the connection. */
  readonly signal: AbortSignal;
  /** True while an answer can still go out: not timed out, the client still there, no error response sent. */
  live(): boolean;
  /** Stop watching (call when the route is done). */
  dispose(): void;
}

export function requestDeadline(c: Context<MonitorEnv>, timeoutMs: number): RequestDeadline {
  const ctl = new AbortController();
  const timedOut = () => new HTTPException(504, { message: `request took longer than ${timeoutMs} ms` });
  const timer = setTimeout(() => ctl.abort(timedOut()), timeoutMs);
  const outgoing = c.env?.outgoing;
  const onClose = () => {
    if (!outgoing?.writableFinished) ctl.abort(timedOut());
  };
  outgoing?.once("close", onClose);
  return {
    signal: ctl.signal,
    // The front door's time limit answers through the error handler, which sets c.error in the same
    // microtask chain as its timer, before any worker reply can be handled: checking it closes the window
    // between its timer and ours.
    live: () => !ctl.signal.aborted && c.error === undefined,
    dispose: () => {
      clearTimeout(timer);
      outgoing?.off("close", onClose);
    },
  };
}
