/**
 * safetensors reader and writer. The reader parses the header once and then reads each tensor's byte
 * range with a positioned fs read, so a multi-GB checkpoint is never held in memory twice. F16 and BF16
 * are widened to float32 tensor by tensor. Files are opened with @memorize/files' openRegularFile (a FIFO or a
 * device is refused, never blocks). The writer is atomic (writeFileAtomic: temp file + fsync + rename): a crash
 * leaves either the old file or the new one, never half of one. Errors name the file, the offset and what was
 * expected, never the bytes found.
 *
 * Format: u64 little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets:[begin,end]},
 * "__metadata__"?: {string: string}}, then the data block; offsets are relative to the data block.
 */
import { closeSync, fstatSync, readSync } from 'node:fs';
import { InvalidArgumentError } from '@memorize/errors';
import { openRegularFile, writeFileAtomic } from '@memorize/files';

export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

export const DTYPE_BYTES: Record<SafetensorsDtype, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

export interface TensorEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Absolute byte offset of the tensor's first byte in the file. */
  offset: number;
  byteLength: number;
}

export interface SafetensorsHeader {
  path: string;
  tensors: Map<string, TensorEntry>;
  metadata: Record<string, string>;
  /** Absolute offset of the data block. */
  dataStart: number;
  fileSize: number;
}

const MAX_HEADER_BYTES = 100 * 1024 * 1024;

function readExactly(fd: number, length: number, position: number, what: string, path: string): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, position + done);
    if (n === 0) {
      throw new InvalidArgumentError(
        `${path}: truncated while reading ${what}: wanted ${length} bytes at offset ${position}, file ends at offset ${position + done}`,
        what,
      );
    }
    done += n;
  }
  return buf;
}

/** Parses and validates the header of an open safetensors file. */
export function parseSafetensorsHeader(fd: number, path: string): SafetensorsHeader {
  const fileSize = fstatSync(fd).size;
  if (fileSize < 8) throw new InvalidArgumentError(`${path}: ${fileSize} bytes is too short for a safetensors header length at offset 0`, 'header');
  const lenBuf = readExactly(fd, 8, 0, 'header length', path);
  const headerLen = Number(lenBuf.readBigUInt64LE(0));
  if (headerLen > MAX_HEADER_BYTES || 8 + headerLen > fileSize) {
    throw new InvalidArgumentError(`${path}: header length ${headerLen} at offset 0 exceeds the file (${fileSize} bytes)`, 'header');
  }
  let json: unknown;
  try {
    json = JSON.parse(readExactly(fd, headerLen, 8, 'header', path).toString('utf8'));
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw err;
    throw new InvalidArgumentError(`${path}: header at offset 8 is not valid JSON (expected a UTF-8 JSON object of ${headerLen} bytes)`, 'header');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new InvalidArgumentError(`${path}: header at offset 8 is not a JSON object`, 'header');
  }
  const dataStart = 8 + headerLen;
  const dataSize = fileSize - dataStart;
  const tensors = new Map<string, TensorEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (raw !== null && (typeof raw !== 'object' || Array.isArray(raw) || Object.values(raw).some((v) => typeof v !== 'string'))) {
        throw new InvalidArgumentError(`${path}: __metadata__ must map strings to strings`, '__metadata__');
      }
      metadata = (raw ?? {}) as Record<string, string>;
      continue;
    }
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e.dtype !== 'string' || !(e.dtype in DTYPE_BYTES)) {
      throw new InvalidArgumentError(
        `${path}: tensor "${name}" has an unsupported dtype (expected one of ${Object.keys(DTYPE_BYTES).join(', ')})`,
        name,
      );
    }
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new InvalidArgumentError(`${path}: tensor "${name}" has an invalid shape`, name);
    }
    if (!Array.isArray(e.data_offsets) || e.data_offsets.length !== 2) {
      throw new InvalidArgumentError(`${path}: tensor "${name}" has no data_offsets`, name);
    }
    const [begin, end] = e.data_offsets as number[];
    const dtype = e.dtype as SafetensorsDtype;
    const shape = e.shape as number[];
    const expected = shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
    if (!Number.isInteger(begin) || !Number.isInteger(end) || begin < 0 || end < begin || end - begin !== expected) {
      throw new InvalidArgumentError(
        `${path}: tensor "${name}" data_offsets [${begin}, ${end}] do not match ${dtype}[${shape.join(',')}] (${expected} bytes)`,
        name,
      );
    }
    if (end > dataSize) {
      throw new InvalidArgumentError(
        `${path}: tensor "${name}" ends at offset ${dataStart + end} but the file has only ${fileSize} bytes (truncated?)`,
        name,
      );
    }
    tensors.set(name, { name, dtype, shape, offset: dataStart + begin, byteLength: end - begin });
  }
  // Tensors must not share bytes: overlapping ranges mean a corrupt or hand-crafted file.
  const ranges = [...tensors.values()].filter((e) => e.byteLength > 0).sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < ranges.length; i++) {
    const prev = ranges[i - 1];
    if (ranges[i].offset < prev.offset + prev.byteLength) {
      throw new InvalidArgumentError(`${path}: tensors "${prev.name}" and "${ranges[i].name}" overlap in the data section`, ranges[i].name);
    }
  }
  return { path, tensors, metadata, dataStart, fileSize };
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

let halfTable: Float32Array | undefined;

/** All 65536 half-precision values as float32: widening is then one table lookup per element. */
function halfLookup(): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = halfToFloat(h);
  }
  return halfTable;
}

/** 16-bit little-endian words of a buffer as an aligned Uint16Array (copied when unaligned); typed arrays use the
 * platform byte order, little-endian on every platform Node runs tfjs on. */
function words16(bytes: Buffer): Uint16Array {
  if (bytes.byteOffset % 2 === 0) return new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
  const copy = new Uint16Array(bytes.byteLength / 2);
  new Uint8Array(copy.buffer).set(bytes);
  return copy;
}

/** Converts raw little-endian tensor bytes to float32 (F32 is copied into an aligned array). */
export function bytesToFloat32(bytes: Buffer, dtype: SafetensorsDtype, name = 'tensor'): Float32Array {
  switch (dtype) {
    case 'F32': {
      const out = new Float32Array(bytes.byteLength / 4);
      new Uint8Array(out.buffer).set(bytes);
      return out;
    }
    case 'F16': {
      const table = halfLookup();
      const src = words16(bytes);
      const out = new Float32Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = table[src[i]];
      return out;
    }
    case 'BF16': {
      // bf16 is the top half of a float32: shift into place.
      const src = words16(bytes);
      const u32 = new Uint32Array(src.length);
      for (let i = 0; i < src.length; i++) u32[i] = src[i] << 16;
      return new Float32Array(u32.buffer);
    }
    case 'F64': {
      const n = bytes.byteLength / 8;
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = bytes.readDoubleLE(8 * i);
      return out;
    }
    default:
      throw new InvalidArgumentError(`tensor "${name}" has dtype ${dtype}, expected a float type`, name);
  }
}

/** A safetensors file opened for random access reads. Close it when done. */
export class SafetensorsReader {
  readonly header: SafetensorsHeader;
  private fd: number | undefined;

  /** `field` names the request field or option the path came from, for errors about opening it. */
  constructor(
    readonly path: string,
    field = 'path',
  ) {
    this.fd = openRegularFile(path, field);
    try {
      this.header = parseSafetensorsHeader(this.fd, path);
    } catch (err) {
      closeSync(this.fd);
      this.fd = undefined;
      throw err;
    }
  }

  get names(): string[] {
    return [...this.header.tensors.keys()];
  }

  entry(name: string): TensorEntry {
    const e = this.header.tensors.get(name);
    if (!e) throw new InvalidArgumentError(`${this.path}: no tensor named "${name}"`, name);
    return e;
  }

  has(name: string): boolean {
    return this.header.tensors.has(name);
  }

  /** The tensor's raw bytes, as stored. */
  readBytes(name: string): Buffer {
    if (this.fd === undefined) throw new InvalidArgumentError(`${this.path} is closed`, name);
    const e = this.entry(name);
    return readExactly(this.fd, e.byteLength, e.offset, `tensor "${name}"`, this.path);
  }

  /** The tensor widened to float32, with its shape. */
  readFloat32(name: string): { data: Float32Array; shape: number[]; dtype: SafetensorsDtype } {
    const e = this.entry(name);
    return { data: bytesToFloat32(this.readBytes(name), e.dtype, name), shape: e.shape, dtype: e.dtype };
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

export interface TensorToWrite {
  dtype?: 'F32' | 'I32' | 'U8';
  shape: number[];
  data: Float32Array | Int32Array | Uint8Array;
}

/**
 * Writes tensors (in the order given, with 8-byte aligned header padding as the reference writer does)
 * and optional string metadata to `path` atomically.
 */
export function writeSafetensors(
  path: string,
  tensors: Record<string, TensorToWrite> | Map<string, TensorToWrite>,
  metadata?: Record<string, string>,
): void {
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new InvalidArgumentError(`metadata "${k}" must be a string`, k);
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const [name, t] of entries) {
    if (name === '__metadata__') throw new InvalidArgumentError('"__metadata__" is not a valid tensor name', name);
    const actual = t.data instanceof Int32Array ? 'I32' : t.data instanceof Uint8Array ? 'U8' : 'F32';
    if (t.dtype !== undefined && t.dtype !== actual) {
      throw new InvalidArgumentError(`tensor "${name}": dtype ${t.dtype} does not match its ${t.data.constructor.name}`, name);
    }
    const dtype = actual;
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) {
      throw new InvalidArgumentError(`tensor "${name}": shape [${t.shape.join(',')}] needs ${count} values, got ${t.data.length}`, name);
    }
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(headerBytes.length));

  writeFileAtomic(path, [len, headerBytes, ...entries.map(([, t]) => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength))]);
}
