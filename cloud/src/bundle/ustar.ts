/**
 * A POSIX ustar archive (IEEE Std 1003.1-2001, pax "ustar Interchange Format") of a few regular files
 * held in memory. Hand-written rather than the npm `tar` package: a bundle is a handful of files of
 * known size, so the format is 512-byte headers and zero-padded contents (about 60 lines), while
 * `tar` brings streams, a file-system walker and its dependencies for what is never used here. GNU
 * tar, bsdtar (macOS, Windows' tar.exe) and 7-Zip read the result; the tests unpack it with GNU tar.
 */

const BLOCK = 512;
/** ustar's size field: 11 octal digits, so a member is at most 8 GiB − 1. */
const MAX_SIZE = 8 ** 11 - 1;

export interface TarMember {
  /** The file name inside `directory` (ASCII, at most 100 bytes). */
  name: string;
  data: Uint8Array;
}

function field(header: Buffer, offset: number, length: number, value: string): void {
  const bytes = Buffer.from(value, 'ascii');
  if (bytes.length > length) throw new RangeError(`ustar field at ${offset} holds ${length} bytes; "${value}" has ${bytes.length}`);
  bytes.copy(header, offset);
}

/** An octal number in `length` bytes: length − 1 digits and a NUL. */
function octal(header: Buffer, offset: number, length: number, n: number): void {
  field(header, offset, length, `${n.toString(8).padStart(length - 1, '0')}\0`);
}

function header(path: { prefix: string; name: string }, size: number, mtimeS: number, type: '0' | '5'): Buffer {
  if (size > MAX_SIZE) throw new RangeError(`${path.name}: ${size} bytes is more than a ustar member holds`);
  const h = Buffer.alloc(BLOCK);
  field(h, 0, 100, path.name);
  octal(h, 100, 8, type === '5' ? 0o755 : 0o644);
  octal(h, 108, 8, 0); // uid
  octal(h, 116, 8, 0); // gid
  octal(h, 124, 12, size);
  octal(h, 136, 12, mtimeS);
  field(h, 148, 8, ' '.repeat(8)); // the checksum is summed with its own field as spaces
  field(h, 156, 1, type);
  field(h, 257, 6, 'ustar\0');
  field(h, 263, 2, '00');
  field(h, 265, 32, 'michi');
  field(h, 297, 32, 'michi');
  field(h, 345, 155, path.prefix);
  let sum = 0;
  for (const b of h) sum += b;
  field(h, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return h;
}

/** The archive: `directory/` and each member inside it, all dated `mtimeMs`; ends with the two zero blocks. */
export function ustarArchive(directory: string, members: readonly TarMember[], mtimeMs: number): Buffer {
  const mtimeS = Math.floor(mtimeMs / 1000);
  const parts: Buffer[] = [header({ prefix: '', name: `${directory}/` }, 0, mtimeS, '5')];
  for (const m of members) {
    // The directory goes in the prefix field, so the name keeps its 100 bytes.
    parts.push(header({ prefix: directory, name: m.name }, m.data.byteLength, mtimeS, '0'), Buffer.from(m.data));
    const pad = (BLOCK - (m.data.byteLength % BLOCK)) % BLOCK;
    if (pad > 0) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}
