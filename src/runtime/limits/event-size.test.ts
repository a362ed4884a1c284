import { describe, expect, it } from "vitest";
import * as parser from "socket.io-parser";
import { EVENT_SIZE, messageBytes, sizedParser } from "./event-size";

function decodeAll(limit: number, messages: unknown[]): { packets: Record<symbol, unknown>[]; error?: Error } {
  const { Decoder } = sizedParser(parser as never, limit);
  const decoder = new Decoder() as unknown as { add(c: unknown): void; on(e: string, f: (p: never) => void): void };
  const packets: Record<symbol, unknown>[] = [];
  decoder.on("decoded", (p) => packets.push(p));
  try {
    for (const m of messages) decoder.add(m);
  } catch (err) {
    return { packets, error: err as Error };
  }
  return { packets };
}

function encode(packet: parser.Packet): unknown[] {
  return new parser.Encoder().encode(packet) as unknown[];
}

describe("sizedParser", () => {
  it("tags each packet with its bytes, JSON and attachments together", () => {
    const text = encode({ type: parser.PacketType.EVENT, nsp: "/", data: ["hi", "héllo"] });
    const bin = encode({ type: parser.PacketType.EVENT, nsp: "/", data: ["b", Buffer.alloc(1000), Buffer.alloc(500)] });
    const { packets, error } = decodeAll(10_000, [...text, ...bin, ...text]);
    expect(error).toBeUndefined();
    expect(packets).toHaveLength(3);
    expect(packets[0]![EVENT_SIZE]).toBe((text[0] as string).length); // far under the bound: not measured in UTF-8
    expect(packets[1]![EVENT_SIZE]).toBe((bin[0] as string).length + 1500);
    expect(packets[2]![EVENT_SIZE]).toBe(packets[0]![EVENT_SIZE]);
  });

  it("lets a complete packet over the limit through (refused later, politely)", () => {
    const bin = encode({ type: parser.PacketType.EVENT, nsp: "/", data: ["b", Buffer.alloc(3000)] });
    const { packets, error } = decodeAll(1000, bin);
    expect(error).toBeUndefined();
    expect(packets[0]![EVENT_SIZE]).toBeGreaterThan(3000);
  });

  it("refuses to keep attachments once a packet still being assembled is over the limit", () => {
    const bin = encode({ type: parser.PacketType.EVENT, nsp: "/", data: ["b", Buffer.alloc(800), Buffer.alloc(800), Buffer.alloc(10)] });
    const { packets, error } = decodeAll(1000, bin);
    expect(packets).toHaveLength(0);
    expect(error?.message).toBe("event too large");
  });

  it("measures UTF-8 only near the bound", () => {
    expect(messageBytes("abc", 100)).toBe(3);
    expect(messageBytes("ééé", 7)).toBe(6);
    expect(messageBytes(new Uint8Array(9), 1)).toBe(9);
    expect(messageBytes(42, 1)).toBe(0);
  });
});
