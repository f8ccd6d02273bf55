// A throwaway PostgreSQL cluster for tests: initdb into a temp folder, start it on a free loopback port with
// trust auth, stop and delete it afterwards. As root it runs the server as the `postgres` user (runuser),
// since PostgreSQL refuses to run as root. Binaries missing: the test skips with one line naming Debian's
// postgresql package, or fails under MADKIT_REQUIRE_REFERENCES=1 (see ../helpers/reference-tools.ts).

import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { missingReference } from "../helpers/reference-tools.js";

export interface PgCluster {
  readonly url: string;
  stop(): void;
}

const PG_ROOT = "/usr/lib/postgresql";

function pgBinDir(): string | undefined {
  if (!existsSync(PG_ROOT)) return undefined;
  const versions = readdirSync(PG_ROOT).filter((v) => existsSync(path.join(PG_ROOT, v, "bin", "initdb"))).sort((a, b) => Number(b) - Number(a));
  return versions[0] && path.join(PG_ROOT, versions[0], "bin");
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** The skip reason when the server binaries are missing; throws under MADKIT_REQUIRE_REFERENCES=1 (call it inside the test). */
export function missingPostgres(): string {
  return missingReference(`PostgreSQL server binaries (initdb, pg_ctl under ${PG_ROOT}/<version>/bin)`, "postgresql");
}

/** Start a cluster, or undefined when PostgreSQL's server binaries are not installed (see missingPostgres). */
export async function startPgCluster(): Promise<PgCluster | undefined> {
  const bin = pgBinDir();
  if (!bin) return undefined;
  const dir = mkdtempSync(path.join(tmpdir(), "madkit-pg-"));
  const data = path.join(dir, "data");
  const asRoot = process.getuid?.() === 0;
  let prefix: string[] = [];
  if (asRoot) {
    const id = spawnSync("id", ["-u", "postgres"], { encoding: "utf8" });
    const gid = spawnSync("id", ["-g", "postgres"], { encoding: "utf8" });
    if (id.status !== 0) throw new Error("running as root but there is no 'postgres' user to run the server as");
    chmodSync(dir, 0o755);
    chownSync(dir, Number(id.stdout.trim()), Number(gid.stdout.trim()));
    prefix = ["runuser", "-u", "postgres", "--"];
  }
  const run = (cmd: string, args: string[]) => {
    const argv = [...prefix, path.join(bin, cmd), ...args];
    const r = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", cwd: dir });
    if (r.error) throw new Error(`${cmd} could not be started (${argv[0]}): ${r.error.message}`);
    if (r.status !== 0) throw new Error(`${cmd} failed (exit ${r.status}): ${r.stderr || r.stdout}`);
  };
  const port = await freePort();
  run("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]);
  run("pg_ctl", ["start", "-w", "-t", "30", "-D", data, "-l", path.join(dir, "log"), "-o", `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`]);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop() {
      try {
        run("pg_ctl", ["stop", "-D", data, "-m", "immediate", "-w"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
