import { realpathSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { compareGlibc, parseGlibcVersion, requiredGlibc, requiredGlibcOf, runtimeGlibc } from "./glibc";

/**
 * A minimal 64-bit little-endian ELF image with one `.gnu.version_r` section: for each needed file,
 * the symbol versions it names (as a linker writes them for a binary built against that glibc).
 */
function elfNeeding(needs: Record<string, string[]>): Buffer {
  const strings: string[] = [""];
  const offsetOf = (text: string) => {
    const at = strings.join("\0").length + 1;
    strings.push(text);
    return at;
  };
  const entries: Buffer[] = [];
  const files = Object.entries(needs);
  files.forEach(([file, versions], n) => {
    const verneed = Buffer.alloc(16);
    verneed.writeUInt16LE(1, 0);
    verneed.writeUInt16LE(versions.length, 2);
    verneed.writeUInt32LE(offsetOf(file), 4);
    verneed.writeUInt32LE(16, 8); // its Vernaux entries follow it
    verneed.writeUInt32LE(n === files.length - 1 ? 0 : 16 + 16 * versions.length, 12);
    entries.push(verneed);
    versions.forEach((version, k) => {
      const vernaux = Buffer.alloc(16);
      vernaux.writeUInt32LE(offsetOf(version), 8);
      vernaux.writeUInt32LE(k === versions.length - 1 ? 0 : 16, 12);
      entries.push(vernaux);
    });
  });
  const dynstr = Buffer.from(strings.join("\0") + "\0", "latin1");
  const versionR = Buffer.concat(entries);
  const header = Buffer.alloc(64);
  header.writeUInt32BE(0x7f454c46, 0);
  header[4] = 2; // 64-bit
  header[5] = 1; // little-endian
  const dynstrAt = 64;
  const versionRAt = dynstrAt + dynstr.length;
  const sectionsAt = versionRAt + versionR.length;
  header.writeBigUInt64LE(BigInt(sectionsAt), 0x28);
  header.writeUInt16LE(64, 0x3a);
  header.writeUInt16LE(3, 0x3c);
  const section = (type: number, offset: number, size: number, link: number, info: number) => {
    const entry = Buffer.alloc(64);
    entry.writeUInt32LE(type, 4);
    entry.writeBigUInt64LE(BigInt(offset), 0x18);
    entry.writeBigUInt64LE(BigInt(size), 0x20);
    entry.writeUInt32LE(link, 0x28);
    entry.writeUInt32LE(info, 0x2c);
    return entry;
  };
  return Buffer.concat([
    header,
    dynstr,
    versionR,
    section(0, 0, 0, 0, 0),
    section(3, dynstrAt, dynstr.length, 0, 0), // SHT_STRTAB
    section(0x6ffffffe, versionRAt, versionR.length, 1, files.length), // SHT_GNU_verneed
  ]);
}

describe("glibc versions", () => {
  it("parses, compares and formats versions", () => {
    expect(parseGlibcVersion("2.36")).toEqual([2, 36]);
    expect(parseGlibcVersion("2.2.5")).toEqual([2, 2]);
    expect(parseGlibcVersion("musl")).toBeUndefined();
    expect(compareGlibc([2, 36], [2, 38])).toBeLessThan(0);
    expect(compareGlibc([2, 38], [2, 38])).toBe(0);
    expect(compareGlibc([3, 0], [2, 38])).toBeGreaterThan(0);
  });

  it("reads the newest GLIBC_ version a binary needs, over every needed file", () => {
    const elf = elfNeeding({
      "libm.so.6": ["GLIBC_2.2.5", "GLIBC_2.29"],
      "libc.so.6": ["GLIBC_2.14", "GLIBC_2.38", "GLIBC_2.34", "GLIBC_PRIVATE"],
      "libstdc++.so.6": ["GLIBCXX_3.4.32"],
    });
    expect(requiredGlibcOf(elf)).toEqual([2, 38]);
    expect(requiredGlibcOf(elfNeeding({ "libc.so.6": ["GLIBC_2.17"] }))).toEqual([2, 17]);
  });

  it("knows nothing of a file that is not a 64-bit little-endian ELF image, or needs no glibc version", () => {
    expect(requiredGlibcOf(Buffer.from("#!/bin/sh\necho not an ELF file\n"))).toBeUndefined();
    expect(requiredGlibcOf(elfNeeding({ "libstdc++.so.6": ["GLIBCXX_3.4"] }))).toBeUndefined();
  });

  it.runIf(process.platform === "linux" && runtimeGlibc() !== undefined)(
    "this Node binary needs a glibc no newer than the one it runs on",
    () => {
      const needs = requiredGlibc(realpathSync(process.execPath));
      expect(needs).toBeDefined();
      expect(compareGlibc(needs!, runtimeGlibc()!)).toBeLessThanOrEqual(0);
    },
  );
});
