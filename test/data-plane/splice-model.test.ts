// The spliced upstream body must mean exactly what re-encoding the parsed body would, or not be used at all.
import { describe, expect, it } from "vitest";
import { spliceModel } from "../../data-plane/server/splice-model.ts";

const USAGE = { include_usage: true };

/** What the gateway would send by re-encoding: the parsed body with the model replaced (and usage asked for). */
function reencoded(text: string, model: string, addStreamUsage: boolean): unknown {
  const body = { ...(JSON.parse(text) as Record<string, unknown>), model };
  return addStreamUsage ? { ...body, stream_options: USAGE } : body;
}

function spliced(text: string, model: string, addStreamUsage = false): unknown {
  const out = spliceModel(Buffer.from(text), model, addStreamUsage);
  return out === null ? null : JSON.parse(out.toString("utf8"));
}

describe("spliceModel", () => {
  it("replaces only the top-level model, keeping the client's bytes around it", () => {
    const text = '{ "messages" : [ {"role":"user","content":"say \\"model\\": no", "model": "inner"} ],\n\t"model" : "gpt-x" , "n":12345678901234567890 }';
    const out = spliceModel(Buffer.from(text), "upstream-1", false)!.toString("utf8");
    expect(out).toBe(text.replace('"gpt-x"', '"upstream-1"'));
    // A string ending in an escaped backslash ends at its quote: the member after it is found.
    expect(spliced('{"a":"x\\\\","b":["\\\\\\"]"],"model":"m"}', "u")).toEqual({ a: "x\\", b: ['\\"]'], model: "u" });
    // The client's numbers as written: re-encoding would have rounded this one.
    expect(out).toContain("12345678901234567890");
  });

  it("adds stream_options when asked, as a first member", () => {
    const text = '{"model":"m","stream":true,"messages":[]}';
    expect(spliceModel(Buffer.from(text), "u", true)!.toString("utf8")).toBe('{"stream_options":{"include_usage":true},"model":"u","stream":true,"messages":[]}');
    expect(spliced(text, "u", true)).toEqual(reencoded(text, "u", true));
  });

  it("encodes the new model name as JSON", () => {
    expect(spliced('{"model":"m"}', 'we"ird\\name ✓\u0001')).toEqual({ model: 'we"ird\\name ✓\u0001' });
  });

  it("declines what it cannot be sure of, so the body is re-encoded instead", () => {
    expect(spliced('{"messages":[]}', "u")).toBeNull(); // no model
    expect(spliced('{"model":"a","model":"b"}', "u")).toBeNull(); // twice: JSON.parse keeps the last
    expect(spliced('{"mod\\u0065l":"a","model":"b"}', "u")).toBeNull(); // a key spelt with escapes
    expect(spliced('{"model":"a","stream_options":{"x":1}}', "u", true)).toBeNull(); // options to merge, not add
    expect(spliced("[1,2]", "u")).toBeNull();
  });

  it("means what re-encoding means, over generated bodies", () => {
    let seed = 42;
    const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const strings = ["", "model", '"model"', "a\\", '\\"', "}", "{", "]", "[", ",", ":", "ünï ✓", "\u2028", "\\\\\\", "\n\t"];
    const space = () => pick(["", " ", "\n", "\t", "  \r\n"]);
    function value(depth: number): string {
      const kind = depth > 3 ? Math.floor(random() * 4) : Math.floor(random() * 6);
      if (kind === 0) return JSON.stringify(pick(strings) + pick(strings));
      if (kind === 1) return pick(["0", "-1.5e3", "12345678901234567890", "3.0"]);
      if (kind === 2) return pick(["true", "false", "null"]);
      if (kind === 3) return JSON.stringify(pick(strings));
      if (kind === 4) return `[${space()}${Array.from({ length: Math.floor(random() * 3) }, () => value(depth + 1)).join(`${space()},${space()}`)}${space()}]`;
      return object(depth + 1, false);
    }
    let topKeys: string[] = [];
    function object(depth: number, top: boolean): string {
      const keys = Array.from({ length: Math.floor(random() * 4) }, () => pick(["model", "messages", "stream", "stream_options", "x", '"', "m\\u006fdel"]));
      if (top) keys.splice(Math.floor(random() * (keys.length + 1)), 0, "model");
      // As written in the body: "m\\u006fdel" spells model with an escape.
      const written = keys.map((key) => (key.includes("\\u") ? `"${key}"` : JSON.stringify(key)));
      if (top) topKeys = written;
      const members = keys.map((key, i) => `${space()}${written[i]}${space()}:${space()}${key === "model" && top ? JSON.stringify(pick(strings)) : value(depth)}${space()}`);
      return `{${members.join(",")}}`;
    }
    let usedSplice = 0;
    for (let i = 0; i < 3000; i++) {
      const text = space() + object(0, true) + space();
      const addStreamUsage = random() < 0.3;
      const got = spliced(text, "upstream", addStreamUsage);
      // It declines exactly when it must: a second or escaped model key, or stream_options already there to merge.
      const mustDecline =
        topKeys.filter((key) => key === '"model"').length > 1 ||
        topKeys.some((key) => key.includes("\\")) ||
        (addStreamUsage && topKeys.includes('"stream_options"'));
      expect(got === null).toBe(mustDecline);
      if (got === null) continue;
      usedSplice++;
      expect(got).toEqual(reencoded(text, "upstream", addStreamUsage));
    }
    // Most bodies have one plain top-level model; the generator must exercise the splice, not only the refusals.
    expect(usedSplice).toBeGreaterThan(1000);
  });
});
