// A throwaway PostgreSQL cluster for tests: initdb into a temp folder, start it on a free loopback port with
// trust auth, stop and delete it afterwards. As root it runs the server as the `postgres` user (runuser),
// since PostgreSQL refuses to run as root. Binaries missing: skip locally, fail under CI.

import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

export interface PgCluster {
  readonly url: string;
  stop(): void;
}

function pgBinDir(): string | undefined {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => existsSync(path.join(root, v, "bin", "initdb"))).sort((a, b) => Number(b) - Number(a));
  return versions[0] && path.join(root, versions[0], "bin");
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

/** Start a cluster, or return a skip reason (throws under CI so a missing Postgres cannot pass silently). */
export async function startPgCluster(): Promise<{ cluster?: PgCluster; skip?: string }> {
  const bin = pgBinDir();
  if (!bin) {
    const reason = "PostgreSQL server binaries not found under /usr/lib/postgresql (apt-get install postgresql)";
    if (process.env.CI) throw new Error(`CI requires PostgreSQL: ${reason}`);
    return { skip: reason };
  }
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
    if (r.status !== 0) throw new Error(`${cmd} failed (exit ${r.status}): ${r.stderr || r.stdout}`);
  };
  const port = await freePort();
  run("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]);
  run("pg_ctl", ["start", "-w", "-t", "30", "-D", data, "-l", path.join(dir, "log"), "-o", `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`]);
  return {
    cluster: {
      url: `postgres://postgres@127.0.0.1:${port}/postgres`,
      stop() {
        try {
          run("pg_ctl", ["stop", "-D", data, "-m", "immediate", "-w"]);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    },
  };
}
