import { readFileSync } from "node:fs";

/*
 * The C library side of "can this uWebSockets.js binary load here": the glibc version a native
 * binary needs (read from its ELF symbol-version requirements, without loading it) and the one this
 * process runs on. A binary linked against a newer glibc fails in `dlopen` with a message that names
 * one missing symbol version; reading the requirements first names the highest one it needs.
 */

/** A glibc version as `[major, minor]`. */
export type GlibcVersion = readonly [number, number];

/** `"2.38"` → `[2, 38]`; `undefined` for anything else. */
export function parseGlibcVersion(text: string | undefined): GlibcVersion | undefined {
  const match = /^(\d+)\.(\d+)/.exec(text ?? "");
  return match ? [Number(match[1]), Number(match[2])] : undefined;
}

/** `[2, 38]` → `"2.38"`. */
export function formatGlibcVersion(version: GlibcVersion): string {
  return `${version[0]}.${version[1]}`;
}

/** Negative, zero or positive as `a` is older than, the same as or newer than `b`. */
export function compareGlibc(a: GlibcVersion, b: GlibcVersion): number {
  return a[0] - b[0] || a[1] - b[1];
}

/**
 * The glibc this process runs on (`process.report`'s `glibcVersionRuntime`), or `undefined` where
 * the C library is not glibc (musl, macOS, Windows).
 */
export function runtimeGlibc(): GlibcVersion | undefined {
  if (process.platform !== "linux") return undefined;
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return parseGlibcVersion(report?.header?.glibcVersionRuntime);
}

const SHT_GNU_VERNEED = 0x6ffffffe;

/**
 * The newest glibc symbol version (`GLIBC_2.x`) that the ELF file `file` requires, from its
 * `.gnu.version_r` section; `undefined` when it requires none or is not a 64-bit little-endian ELF
 * file (then nothing is known before loading it).
 */
export function requiredGlibc(file: string): GlibcVersion | undefined {
  const elf = readFileSync(file);
  return requiredGlibcOf(elf);
}

/** {@link requiredGlibc} of an ELF image already in memory. */
export function requiredGlibcOf(elf: Buffer): GlibcVersion | undefined {
  const isElf64LittleEndian = elf.length >= 64 && elf.readUInt32BE(0) === 0x7f454c46 && elf[4] === 2 && elf[5] === 1;
  if (!isElf64LittleEndian) return undefined;
  const sectionsAt = Number(elf.readBigUInt64LE(0x28));
  const sectionSize = elf.readUInt16LE(0x3a);
  const sectionCount = elf.readUInt16LE(0x3c);
  const section = (index: number) => {
    const at = sectionsAt + index * sectionSize;
    if (index >= sectionCount || at + 64 > elf.length) return undefined;
    return {
      type: elf.readUInt32LE(at + 4),
      offset: Number(elf.readBigUInt64LE(at + 0x18)),
      size: Number(elf.readBigUInt64LE(at + 0x20)),
      link: elf.readUInt32LE(at + 0x28),
      info: elf.readUInt32LE(at + 0x2c),
    };
  };
  let newest: GlibcVersion | undefined;
  for (let index = 0; index < sectionCount; index++) {
    const needs = section(index);
    if (needs?.type !== SHT_GNU_VERNEED) continue;
    const strings = section(needs.link);
    if (!strings) continue;
    const name = (offset: number) => {
      const start = strings.offset + offset;
      const end = elf.indexOf(0, start);
      return elf.toString("latin1", start, end < 0 ? start : end);
    };
    // Elf64_Verneed (16 bytes: version, count, file, aux, next), each with `count` Elf64_Vernaux
    // (16 bytes: hash, flags, other, name, next); `info` is the number of Verneed entries
    let entry = needs.offset;
    for (let n = 0; n < needs.info && entry + 16 <= elf.length; n++) {
      let aux = entry + elf.readUInt32LE(entry + 8);
      for (let k = 0; k < elf.readUInt16LE(entry + 2) && aux + 16 <= elf.length; k++) {
        const version = /^GLIBC_(\d+\.\d+)/.exec(name(elf.readUInt32LE(aux + 8)));
        const parsed = parseGlibcVersion(version?.[1]);
        if (parsed && (!newest || compareGlibc(parsed, newest) > 0)) newest = parsed;
        const next = elf.readUInt32LE(aux + 12);
        if (next === 0) break;
        aux += next;
      }
      const next = elf.readUInt32LE(entry + 12);
      if (next === 0) break;
      entry += next;
    }
  }
  return newest;
}
