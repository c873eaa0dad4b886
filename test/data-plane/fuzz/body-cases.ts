// Malformed bodies: not JSON, too deep, wrong types, unknown fields, not UTF-8, over the size limit.
import fc from "fast-check";
import { type Endpoint, ENDPOINTS, type FuzzCase, type FuzzContext } from "./fuzz-context.ts";
import { FUZZ_MAX_BODY_BYTES } from "./fuzz-target.ts";
import { json } from "./http-bytes.ts";

export function bodyCases(ctx: FuzzContext): { weight: number; arbitrary: fc.Arbitrary<FuzzCase> }[] {
  const endpoint = fc.constantFrom<Endpoint>(...ENDPOINTS);
  // Bodies that are not a JSON object with a string model: always the gateway's 400.
  const notJson = fc.oneof(
    fc.string({ maxLength: 300 }).map((s) => Buffer.from(s)),
    fc.uint8Array({ maxLength: 600 }).map((b) => Buffer.from(b)),
    fc.tuple(fc.jsonValue({ maxDepth: 3 }), fc.nat()).map(([v, cut]) => {
      const text = JSON.stringify({ model: ctx.slugs.chat, v });
      return Buffer.from(text.slice(0, cut % text.length));
    }),
    fc.jsonValue({ maxDepth: 3 }).filter((v) => v === null || typeof v !== "object" || Array.isArray(v)).map(json),
    fc.constantFrom("", " ", "{", "}", "{}x", "[]", "null", "NaN", "{'model':'x'}", '{"model":"x",}', "\uFEFF{}", '{"model":"x"} {"model":"y"}', "/**/{}").map((s) => Buffer.from(s)),
  );
  const badJson = fc.tuple(endpoint, notJson).map(([e, body]): FuzzCase => ({ category: "bad JSON", label: `${e} ${body.toString("latin1").slice(0, 80)}`, send: ctx.post(e, body), statuses: [400] }));

  // Deep nesting: the gateway parses it, and must not fail while re-encoding it for the provider.
  const deep = fc.tuple(endpoint, fc.integer({ min: 500, max: 20_000 }), fc.boolean()).map(([e, depth, arrays]): FuzzCase => {
    const nested = arrays ? `${"[".repeat(depth)}${"]".repeat(depth)}` : `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
    const base = JSON.stringify(ctx.validBody(e));
    const body = Buffer.from(`${base.slice(0, -1)},"nested":${nested}}`);
    return { category: "deep nesting", label: `${e} depth ${depth} ${arrays ? "arrays" : "objects"}`, send: ctx.post(e, body), passThrough: true };
  });

  // Every field the gateway reads, and some it only forwards, with values of the wrong type or range.
  const wrongValue = fc.oneof(
    fc.constantFrom(null, true, false, 0, -1, 1.5, 1e308, -1e308, 2 ** 53, 2 ** 64, "", "1", "true", [], {}, [null], { include_usage: "yes" }),
    // Real slugs on the wrong endpoint, one not granted, one unknown.
    fc.constantFrom(ctx.slugs.chat, ctx.slugs.messages, ctx.slugs.ungranted, "no-such-model"),
    // Unknown names a usage record must still hold: NUL, lone surrogates, any code point, longer than any slug.
    fc.constantFrom("\u0000", "no\u0000such", "\ud800", "x\udfffy", "x".repeat(5_000)),
    fc.string({ unit: "binary", minLength: 1, maxLength: 300 }),
    fc.anything({ maxDepth: 2, withObjectString: true }).map((v) => JSON.parse(JSON.stringify(v ?? null)) as unknown),
  );
  const field = fc.constantFrom("model", "stream", "max_tokens", "max_completion_tokens", "messages", "stream_options", "input", "system", "n", "temperature", "tools", "stop");
  const wrongTypes = fc.tuple(endpoint, fc.array(fc.tuple(field, wrongValue), { minLength: 1, maxLength: 3 }), fc.boolean()).map(([e, changes, stream]): FuzzCase => {
    const body: Record<string, unknown> = { ...ctx.validBody(e), ...(stream ? { stream: true } : {}) };
    for (const [name, value] of changes) body[name] = value;
    const refused = gatewayRefusal(e, body, ctx);
    return { category: "wrong types", label: `${e} ${JSON.stringify(changes).slice(0, 160)}`, send: ctx.post(e, json(body)), ...(refused ? { statuses: [refused] } : { passThrough: true }) };
  });

  // Fields no provider knows: forwarded, and the mock ignores them (never `user`/`metadata`, which steer the mock).
  const unknownKey = fc.oneof(fc.string({ minLength: 1, maxLength: 20 }), fc.constantFrom("__proto__", "constructor", "toString", "hasOwnProperty", "cache_control"));
  const unknownFields = fc
    .tuple(endpoint, fc.dictionary(unknownKey.filter((k) => !["user", "metadata", "model", "stream"].includes(k)), fc.jsonValue({ maxDepth: 2 }), { minKeys: 1, maxKeys: 8 }))
    .map(([e, extra]): FuzzCase => {
      const text = JSON.stringify(ctx.validBody(e));
      const extraText = JSON.stringify(extra).slice(1, -1);
      const body = Buffer.from(extraText === "" ? text : `${text.slice(0, -1)},${extraText}}`);
      return { category: "unknown fields", label: `${e} ${extraText.slice(0, 120)}`, send: ctx.post(e, body), passThrough: true };
    });

  // Bytes that are not UTF-8 inside a string value, and escapes of lone surrogates (valid JSON, not valid Unicode).
  const badBytes = fc.constantFrom([0xff], [0xfe, 0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf8, 0x88, 0x80, 0x80, 0x80], [0x80], [0xf4, 0x90, 0x80, 0x80]);
  const invalidUtf8 = fc.tuple(endpoint, badBytes, fc.boolean()).map(([e, bytes, inString]): FuzzCase => {
    const text = JSON.stringify(ctx.validBody(e));
    const at = inString ? text.indexOf('"hi"') + 2 : text.length - 1;
    const body = Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.from(bytes), Buffer.from(text.slice(at))]);
    return { category: "invalid UTF-8", label: `${e} bytes ${bytes.map((b) => b.toString(16)).join(" ")} ${inString ? "in a string" : "between tokens"}`, send: ctx.post(e, body), statuses: [400] };
  });
  const loneSurrogate = endpoint.map((e): FuzzCase => {
    const body = Buffer.from(JSON.stringify(ctx.validBody(e)).replace('"hi"', '"h\\ud800i\\udfff"'));
    return { category: "invalid UTF-8", label: `${e} lone surrogate escapes`, send: ctx.post(e, body), passThrough: true };
  });

  // Over DATA_PLANE_MAX_BODY_BYTES: declared, or chunked without a length. 413 (the socket is then closed, and a reset
  // may beat the answer to us), or 401 when there is no key, since the key is checked before any body is read.
  const max = FUZZ_MAX_BODY_BYTES;
  const padded = (e: Endpoint, size: number) => {
    const text = JSON.stringify({ ...ctx.validBody(e), pad: "" });
    return Buffer.from(`${text.slice(0, -2)}${"x".repeat(Math.max(0, size - text.length))}"}`);
  };
  const oversized = fc.oneof(
    fc.tuple(endpoint, fc.constantFrom(String(max + 1), String(max * 10), "1000000000000000", "18446744073709551616", "99999999999999999999999"), fc.boolean()).map(
      ([e, declared, sendSome]): FuzzCase => ({
        category: "oversized",
        label: `${e} declared ${declared}${sendSome ? " with 1 KB sent" : ""}`,
        send: { ...ctx.post(e, sendSome ? padded(e, 1024) : null, { kind: "declared", value: declared }), timeoutMs: 3_000 },
        statuses: [413],
        unanswered: true,
      }),
    ),
    fc.tuple(endpoint, fc.integer({ min: max + 1, max: max * 3 }), fc.array(fc.integer({ min: 1, max: 40_000 }), { minLength: 1, maxLength: 6 }), fc.boolean()).map(
      ([e, size, sizes, keyed]): FuzzCase => ({
        category: "oversized",
        label: `${e} chunked ${size} bytes${keyed ? "" : " without a key"}`,
        send: { ...ctx.post(e, padded(e, size), { kind: "chunked", sizes, terminate: true }, keyed ? ctx.headersFor(e) : []), timeoutMs: 3_000 },
        statuses: keyed ? [413] : [401],
        unanswered: true,
      }),
    ),
    fc.tuple(endpoint, fc.integer({ min: max - 64, max })).map(([e, size]): FuzzCase => ({ category: "oversized", label: `${e} ${size} bytes, at the limit`, send: ctx.post(e, padded(e, size)), passThrough: true })),
  );

  return [
    { weight: 10, arbitrary: badJson },
    { weight: 2, arbitrary: deep },
    { weight: 20, arbitrary: wrongTypes },
    { weight: 8, arbitrary: unknownFields },
    { weight: 6, arbitrary: invalidUtf8 },
    { weight: 1, arbitrary: loneSurrogate },
    { weight: 6, arbitrary: oversized },
  ];
}

const tokenCount = (v: unknown) => v === undefined || v === null || (Number.isSafeInteger(v) && (v as number) >= 1);

/**
 * What the gateway itself must answer to a body, by the README's rules (it judges only what it reads: model, stream,
 * max_tokens, max_completion_tokens, stream_options; then the slug and the endpoint), or null: the provider judges.
 */
function gatewayRefusal(e: Endpoint, body: Record<string, unknown>, ctx: FuzzContext): number | null {
  const { model, stream, stream_options: options } = body;
  if (typeof model !== "string" || model === "") return 400;
  if (stream !== undefined && typeof stream !== "boolean") return 400;
  if (!tokenCount(body.max_tokens) || !tokenCount(body.max_completion_tokens)) return 400;
  if (options !== undefined && options !== null && (typeof options !== "object" || Array.isArray(options))) return 400;
  if (model === ctx.slugs.ungranted) return 403;
  const served = model === ctx.slugs.chat ? e !== "messages" : model === ctx.slugs.messages ? e === "messages" : null;
  if (served === null) return 404;
  return served ? null : 404;
}
