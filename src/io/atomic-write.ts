// Atomic file writes: write to a temp file in the same folder, fsync, then rename over the target, so a
// killed process leaves either the old file or the new one, never half of one.

import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import path from "node:path";

let counter = 0;

export function writeFileAtomic(file: string, data: string | Uint8Array | readonly Uint8Array[]): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.${counter++}.tmp`;
  const fd = openSync(tmp, "w");
  try {
    const chunks = typeof data === "string" ? [Buffer.from(data, "utf8")] : data instanceof Uint8Array ? [data] : data;
    for (const chunk of chunks) {
      let off = 0;
      while (off < chunk.byteLength) off += writeSync(fd, chunk, off, chunk.byteLength - off);
    }
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, file);
}

/**
 * A file written in pieces that appears atomically: chunks go to a temp file beside the target, and
 * `commit()` fsyncs and renames it into place. `abort()` (or a kill) leaves only the `*.tmp` file.
 */
export class AtomicFileWriter {
  private readonly tmp: string;
  private fd: number | undefined;

  constructor(readonly file: string) {
    mkdirSync(path.dirname(file), { recursive: true });
    this.tmp = `${file}.${process.pid}.${Date.now()}.${counter++}.tmp`;
    this.fd = openSync(this.tmp, "w");
  }

  write(chunk: string | Uint8Array): void {
    if (this.fd === undefined) throw new Error(`${this.file}: write after commit/abort`);
    const bytes = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
    let off = 0;
    while (off < bytes.byteLength) off += writeSync(this.fd, bytes, off, bytes.byteLength - off);
  }

  commit(): void {
    if (this.fd === undefined) throw new Error(`${this.file}: commit after commit/abort`);
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = undefined;
    renameSync(this.tmp, this.file);
  }

  abort(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
    rmSync(this.tmp, { force: true });
  }
}
