// The safetensors format (8-byte little-endian header length, JSON header, raw little-endian data), written
// as a stream of row blocks so no tensor has to sit in memory whole, and read back with every offset checked.
// Spec: https://github.com/huggingface/safetensors — header padded with spaces so the data starts 8-aligned.

import { closeSync, fstatSync, fsyncSync, openSync, readSync, renameSync, rmSync, writeSync, mkdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { MadkitError } from "../errors.js";

export type SafetensorsDtype = "F32" | "F64" | "I32" | "U8";
export type TypedArrayFor = Float32Array | Float64Array | Int32Array | Uint8Array;

const BYTES: Readonly<Record<SafetensorsDtype, number>> = { F32: 4, F64: 8, I32: 4, U8: 1 };

/** Hard cap on the JSON header (the reference implementation uses 100 MB) so a corrupt length can't exhaust memory. */
const MAX_HEADER_BYTES = 100_000_000;
/** Block size when copying spooled tensors into the final file. */
const COPY_BLOCK = 1 << 20;

if (os.endianness() !== "LE") {
  // Typed arrays use the platform's byte order; safetensors is little-endian. Every platform Node ships on is LE.
  throw new MadkitError("NOT_SUPPORTED", "safetensors I/O needs a little-endian platform");
}

export interface TensorInfo {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  /** Byte offsets relative to the start of the data section, [begin, end). */
  readonly begin: number;
  readonly end: number;
}

export interface SafetensorsHeader {
  readonly file: string;
  /** Tensors in data order. */
  readonly tensors: readonly TensorInfo[];
  readonly metadata: Readonly<Record<string, string>>;
  /** Absolute file offset where the data section starts. */
  readonly dataStart: number;
}

function dtypeOf(a: TypedArrayFor): SafetensorsDtype {
  if (a instanceof Float32Array) return "F32";
  if (a instanceof Float64Array) return "F64";
  if (a instanceof Int32Array) return "I32";
  return "U8";
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.byteLength) off += writeSync(fd, bytes, off, bytes.byteLength - off);
}

function asBytes(a: TypedArrayFor): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** `obj[key] = value` as an own property even for the key "__proto__" (plain assignment would set the prototype). */
function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Header bytes: JSON padded with spaces to a multiple of 8, preceded by its u64 LE length. */
function encodeHeader(tensors: readonly TensorInfo[], metadata: Readonly<Record<string, string>> | undefined): Uint8Array {
  const obj: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) obj.__metadata__ = metadata;
  for (const t of tensors) setOwn(obj, t.name, { dtype: t.dtype, shape: t.shape, data_offsets: [t.begin, t.end] });
  const json = Buffer.from(JSON.stringify(obj), "utf8");
  const padded = Math.ceil(json.byteLength / 8) * 8;
  const out = Buffer.alloc(8 + padded, 0x20);
  out.writeBigUInt64LE(BigInt(padded), 0);
  json.copy(out, 8);
  return out;
}

interface SpoolState {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly innerShape: readonly number[];
  readonly innerSize: number;
  readonly spool: string;
  readonly fd: number;
  leading: number;
  bytes: number;
}

let tmpCounter = 0;

/**
 * Streams tensors to a safetensors file. Each tensor is declared with its trailing shape (e.g. [dim]) and
 * grows along its first axis as row blocks are appended, in any interleaving across tensors: each tensor
 * is spooled to its own temp file, and `finish()` writes header + spools to a temp file, fsyncs and renames
 * it over the target. A kill at any moment leaves the target untouched and only `*.tmp` files behind.
 */
export class SafetensorsWriter {
  private readonly tensors = new Map<string, SpoolState>();
  private done = false;
  private readonly tmpBase: string;

  constructor(
    readonly file: string,
    private readonly metadata: Readonly<Record<string, string>> = {},
  ) {
    mkdirSync(path.dirname(file), { recursive: true });
    this.tmpBase = `${file}.${process.pid}.${Date.now()}.${tmpCounter++}`;
  }

  /** Declare a tensor; its final shape is [appended rows, ...innerShape]. Data order follows declaration order. */
  addTensor(name: string, dtype: SafetensorsDtype, innerShape: readonly number[]): void {
    this.checkOpen();
    if (name === "__metadata__" || this.tensors.has(name)) {
      throw new MadkitError("BAD_ARGUMENT", `${this.file}: tensor name '${name}' is reserved or already declared`);
    }
    for (const d of innerShape) {
      if (!Number.isInteger(d) || d < 0) {
        throw new MadkitError("BAD_ARGUMENT", `${this.file}: tensor '${name}' shape [${innerShape.join(", ")}] must be non-negative integers`);
      }
    }
    const spool = `${this.tmpBase}.${this.tensors.size}.spool.tmp`;
    const fd = openSync(spool, "w");
    const innerSize = innerShape.reduce((a, b) => a * b, 1);
    this.tensors.set(name, { name, dtype, innerShape: [...innerShape], innerSize, spool, fd, leading: 0, bytes: 0 });
  }

  /**
   * Append rows to a declared tensor; `data.length` must be a multiple of the trailing shape's size. When that
   * size is 0 (a trailing dimension of 0) the data cannot say how many rows it holds: pass `zeroWidthRows`.
   */
  append(name: string, data: TypedArrayFor, zeroWidthRows = 0): void {
    this.checkOpen();
    const t = this.tensors.get(name);
    if (!t) throw new MadkitError("BAD_ARGUMENT", `${this.file}: tensor '${name}' was not declared with addTensor`);
    const dtype = dtypeOf(data);
    if (dtype !== t.dtype) {
      throw new MadkitError("BAD_ARGUMENT", `${this.file}: tensor '${name}' is ${t.dtype}, got ${dtype} data`);
    }
    if (t.innerSize === 0 ? data.length !== 0 : data.length % t.innerSize !== 0) {
      throw new MadkitError(
        "DIMENSION_MISMATCH",
        `${this.file}: tensor '${name}' rows have ${t.innerSize} elements, got a block of ${data.length}`,
      );
    }
    writeAll(t.fd, asBytes(data));
    t.leading += t.innerSize === 0 ? zeroWidthRows : data.length / t.innerSize;
    t.bytes += data.byteLength;
  }

  /** Rows appended so far to a tensor. */
  rowsOf(name: string): number {
    return this.tensors.get(name)?.leading ?? 0;
  }

  /** Write the file atomically and remove the spools; `metadata` (when given) replaces the constructor's. */
  finish(metadata?: Readonly<Record<string, string>>): void {
    this.checkOpen();
    this.done = true;
    const infos: TensorInfo[] = [];
    let off = 0;
    for (const t of this.tensors.values()) {
      infos.push({ name: t.name, dtype: t.dtype, shape: [t.leading, ...t.innerShape], begin: off, end: off + t.bytes });
      off += t.bytes;
    }
    const tmp = `${this.tmpBase}.tmp`;
    const fd = openSync(tmp, "w");
    try {
      writeAll(fd, encodeHeader(infos, metadata ?? this.metadata));
      const block = Buffer.allocUnsafe(COPY_BLOCK);
      for (const t of this.tensors.values()) {
        closeSync(t.fd);
        const src = openSync(t.spool, "r");
        try {
          let pos = 0;
          while (pos < t.bytes) {
            const n = readSync(src, block, 0, Math.min(COPY_BLOCK, t.bytes - pos), pos);
            if (n <= 0) throw new MadkitError("STORE_CORRUPT", `${t.spool}: spool ended at byte ${pos}, expected ${t.bytes}`);
            writeAll(fd, block.subarray(0, n));
            pos += n;
          }
        } finally {
          closeSync(src);
        }
        rmSync(t.spool, { force: true });
      }
      fsyncSync(fd);
    } catch (e) {
      closeSync(fd);
      rmSync(tmp, { force: true });
      this.removeSpools(false);
      throw e;
    }
    closeSync(fd);
    renameSync(tmp, this.file);
  }

  /** Give up: remove every temp file; the target is untouched. */
  abort(): void {
    if (this.done) return;
    this.done = true;
    this.removeSpools(true);
  }

  private removeSpools(close: boolean): void {
    for (const t of this.tensors.values()) {
      if (close) {
        try {
          closeSync(t.fd);
        } catch {
          // already closed by finish()
        }
      }
      rmSync(t.spool, { force: true });
    }
  }

  private checkOpen(): void {
    if (this.done) throw new MadkitError("BAD_ARGUMENT", `${this.file}: writer already finished or aborted`);
  }
}

/** Write whole in-memory tensors (shape given explicitly) atomically. */
export function writeSafetensors(
  file: string,
  tensors: ReadonlyArray<{ readonly name: string; readonly shape: readonly number[]; readonly data: TypedArrayFor }>,
  metadata: Readonly<Record<string, string>> = {},
): void {
  const w = new SafetensorsWriter(file, metadata);
  try {
    for (const t of tensors) {
      const size = t.shape.reduce((a, b) => a * b, 1);
      if (size !== t.data.length) {
        throw new MadkitError(
          "DIMENSION_MISMATCH",
          `${file}: tensor '${t.name}' shape [${t.shape.join(", ")}] needs ${size} elements, got ${t.data.length}`,
        );
      }
      if (t.shape.length === 0) {
        throw new MadkitError("NOT_SUPPORTED", `${file}: tensor '${t.name}' is 0-dimensional; give it shape [1]`);
      }
      w.addTensor(t.name, dtypeOf(t.data), t.shape.slice(1));
      w.append(t.name, t.data, t.shape[0]);
    }
    w.finish();
  } catch (e) {
    w.abort();
    throw e;
  }
}

/** Fill `buf` from `pos`; a short read (the file shrank under us) is STORE_CORRUPT, not garbage. */
function readFully(fd: number, buf: Uint8Array, pos: number, file: string): void {
  let got = 0;
  while (got < buf.byteLength) {
    const n = readSync(fd, buf, got, buf.byteLength - got, pos + got);
    if (n <= 0) throw corrupt(file, `file ended at byte ${pos + got}, expected ${pos + buf.byteLength} (file changed while reading?)`);
    got += n;
  }
}

function corrupt(file: string, what: string): MadkitError {
  return new MadkitError("STORE_CORRUPT", `${file}: ${what}`);
}

/** Read and validate the header: dtypes known, shapes × dtype sizes equal the offsets, offsets tile the data exactly. */
export function readSafetensorsHeader(file: string): SafetensorsHeader {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch (e) {
    throw new MadkitError("FILE_NOT_FOUND", `${file}: cannot open safetensors file (${(e as Error).message})`);
  }
  try {
    return parseHeader(file, fd);
  } finally {
    closeSync(fd);
  }
}

/** The header's JSON object and where the data section starts, after checking the file and the length field. */
function readHeaderObject(file: string, fd: number): { parsed: object; dataStart: number; size: number } {
  const stat = fstatSync(fd);
  if (!stat.isFile()) throw corrupt(file, `is ${stat.isDirectory() ? "a folder" : "not a regular file"}, expected a safetensors file`);
  const size = stat.size;
  if (size < 8) throw corrupt(file, `file is ${size} bytes, a safetensors file needs at least the 8-byte header length`);
  const lenBuf = Buffer.alloc(8);
  readFully(fd, lenBuf, 0, file);
  const len64 = lenBuf.readBigUInt64LE(0);
  // Two different faults, two messages: a length past the end of the file (truncated, or not safetensors),
  // and a length the file does hold but above the cap every safetensors reader applies.
  if (len64 > BigInt(size - 8)) {
    throw corrupt(file, `header length field says ${len64} bytes, but only ${size - 8} bytes follow it (truncated or not safetensors?)`);
  }
  if (len64 > BigInt(MAX_HEADER_BYTES)) {
    throw corrupt(
      file,
      `header length field says ${len64} bytes, above the ${MAX_HEADER_BYTES}-byte limit on a safetensors header (the reference implementation's); corrupt or not safetensors?`,
    );
  }
  const headerLen = Number(len64);
  const hbuf = Buffer.alloc(headerLen);
  readFully(fd, hbuf, 8, file);
  let parsed: unknown;
  try {
    parsed = JSON.parse(hbuf.toString("utf8"));
  } catch (e) {
    throw corrupt(file, `header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw corrupt(file, "header must be a JSON object mapping tensor names to {dtype, shape, data_offsets}");
  }
  return { parsed, dataStart: 8 + headerLen, size };
}

/** Copies the `__metadata__` entry's string values into `metadata`. */
function readMetadata(file: string, raw: unknown, metadata: Record<string, string>): void {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw corrupt(file, "__metadata__ must be an object of strings");
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== "string") throw corrupt(file, `__metadata__.${k} must be a string, found ${typeof v}`);
    setOwn(metadata, k, v);
  }
}

/** One tensor entry: dtype, shape, offsets, the byte count they imply, and its end inside the data section. */
function checkTensorEntry(file: string, name: string, raw: unknown, dataLen: number): TensorInfo {
  const t = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  if (typeof t !== "object" || t === null) throw corrupt(file, `tensor '${name}' entry must be an object`);
  if (typeof t.dtype !== "string" || !(t.dtype in BYTES)) {
    throw corrupt(file, `tensor '${name}' has dtype ${JSON.stringify(t.dtype)}, expected one of ${Object.keys(BYTES).join(", ")}`);
  }
  const dtype = t.dtype as SafetensorsDtype;
  if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw corrupt(file, `tensor '${name}' has shape ${JSON.stringify(t.shape)}, expected a list of non-negative integers`);
  }
  const offs = t.data_offsets;
  if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((d) => Number.isInteger(d) && d >= 0) || offs[0] > offs[1]) {
    throw corrupt(file, `tensor '${name}' has data_offsets ${JSON.stringify(offs)}, expected [begin, end] with 0 <= begin <= end`);
  }
  const shape = t.shape as number[];
  const need = shape.includes(0) ? 0 : shape.reduce((a, b) => a * b, 1) * BYTES[dtype];
  if (!Number.isSafeInteger(need)) {
    throw corrupt(file, `tensor '${name}' has shape [${shape.join(", ")}], too large for any file (${dtype} elements overflow)`);
  }
  if (offs[1] - offs[0] !== need) {
    throw corrupt(
      file,
      `tensor '${name}' (${dtype} [${shape.join(", ")}]) needs ${need} bytes, its data_offsets [${offs[0]}, ${offs[1]}] span ${offs[1] - offs[0]}`,
    );
  }
  if (offs[1] > dataLen) {
    throw corrupt(file, `tensor '${name}' ends at data byte ${offs[1]}, but the data section has only ${dataLen} bytes (truncated?)`);
  }
  return { name, dtype, shape, begin: offs[0], end: offs[1] };
}

/** Sorts `tensors` by offset and checks they tile the data section exactly, with no gaps, overlaps or trailing bytes. */
function checkTiling(file: string, tensors: TensorInfo[], dataLen: number): void {
  tensors.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expect = 0;
  for (const t of tensors) {
    if (t.begin !== expect) {
      throw corrupt(file, `tensor '${t.name}' starts at data byte ${t.begin}, expected ${expect} (tensors must tile the data without gaps or overlaps)`);
    }
    expect = t.end;
  }
  if (expect !== dataLen) {
    throw corrupt(file, `tensors cover ${expect} data bytes, but the data section has ${dataLen} (trailing garbage or truncated)`);
  }
}

function parseHeader(file: string, fd: number): SafetensorsHeader {
  const { parsed, dataStart, size } = readHeaderObject(file, fd);
  const dataLen = size - dataStart;
  const metadata: Record<string, string> = {};
  const tensors: TensorInfo[] = [];
  for (const [name, raw] of Object.entries(parsed as Record<string, unknown>)) {
    if (name === "__metadata__") readMetadata(file, raw, metadata);
    else tensors.push(checkTensorEntry(file, name, raw, dataLen));
  }
  checkTiling(file, tensors, dataLen);
  return { file, tensors, metadata, dataStart };
}

function allocate(dtype: SafetensorsDtype, n: number): TypedArrayFor {
  switch (dtype) {
    case "F32":
      return new Float32Array(n);
    case "F64":
      return new Float64Array(n);
    case "I32":
      return new Int32Array(n);
    case "U8":
      return new Uint8Array(n);
  }
}

/** An open safetensors file: the validated header and reads of whole tensors or row ranges. */
export class SafetensorsReader {
  readonly header: SafetensorsHeader;
  private fd: number | undefined;

  constructor(readonly file: string) {
    this.header = readSafetensorsHeader(file);
    this.fd = openSync(file, "r");
  }

  info(name: string): TensorInfo {
    const t = this.header.tensors.find((x) => x.name === name);
    if (!t) {
      throw new MadkitError(
        "STORE_CORRUPT",
        `${this.file}: no tensor '${name}'; it holds ${this.header.tensors.map((x) => x.name).join(", ") || "no tensors"}`,
      );
    }
    return t;
  }

  /** The whole tensor as a fresh typed array. */
  read(name: string): TypedArrayFor {
    const t = this.info(name);
    return this.readRows(name, 0, t.shape[0] ?? 1);
  }

  /** Rows [start, end) along the first axis. */
  readRows(name: string, start: number, end: number): TypedArrayFor {
    const t = this.info(name);
    if (this.fd === undefined) throw new MadkitError("BAD_ARGUMENT", `${this.file}: reader is closed`);
    const leading = t.shape.length === 0 ? 1 : t.shape[0]!;
    if (!(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end && end <= leading)) {
      throw new MadkitError("BAD_ARGUMENT", `${this.file}: rows [${start}, ${end}) out of range for tensor '${name}' with ${leading} rows`);
    }
    const rowElems = t.shape.slice(1).reduce((a, b) => a * b, 1);
    const out = allocate(t.dtype, (end - start) * rowElems);
    const bytes = asBytes(out);
    const pos = this.header.dataStart + t.begin + start * rowElems * BYTES[t.dtype];
    let got = 0;
    while (got < bytes.byteLength) {
      const n = readSync(this.fd, bytes, got, bytes.byteLength - got, pos + got);
      if (n <= 0) throw corrupt(this.file, `tensor '${name}' data ended early at byte ${pos + got} (file changed while reading?)`);
      got += n;
    }
    return out;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Read every tensor of a file into memory (small files: tests, detector states). */
export function readSafetensors(file: string): { metadata: Record<string, string>; tensors: Map<string, { shape: number[]; data: TypedArrayFor }> } {
  const r = new SafetensorsReader(file);
  try {
    const tensors = new Map<string, { shape: number[]; data: TypedArrayFor }>();
    for (const t of r.header.tensors) tensors.set(t.name, { shape: [...t.shape], data: r.read(t.name) });
    return { metadata: { ...r.header.metadata }, tensors };
  } finally {
    r.close();
  }
}
