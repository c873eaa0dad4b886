// Turns a one-request Lua script into one that runs it for many requests in a single EVALSHA, in order.

/**
 * Lua run once per batch around the requests: `prelude` before the first (locals every request's run can use, e.g. a
 * cache of what the batch read), `epilogue` after the last (e.g. writing that cache back).
 */
export interface BatchFrame {
  prelude?: string;
  epilogue?: string;
}

/**
 * The single script reads the globals KEYS and ARGV and ends in `return …`; wrapped as a function whose parameters are
 * named KEYS and ARGV, the same text runs unchanged once per request, each run seeing the writes of the runs before
 * it, exactly as if the calls had reached Redis one after another.
 * ARGV layout: n, then each request's key count, then each request's args packed into one space-separated string;
 * KEYS: every request's keys. Packing matters to the client, not Redis: ioredis spends its time per argument
 * (flattening, converting, length-prefixing each), and a request's ~16 numbers become one argument, which halved its
 * CPU per batched call (test/bench/admission-client-cost.ts); splitting them again in Lua costs Redis ~1 µs per request.
 * Returns one reply per request, in order.
 */
export function batchedScript(single: string, frame: BatchFrame = {}): string {
  return `
${frame.prelude ?? ""}
local function one(KEYS, ARGV)
${single}
end
local n = tonumber(ARGV[1])
local replies = {}
local keyAt = 1
for r = 1, n do
  local keyCount = tonumber(ARGV[1 + r])
  local args, count = {}, 0
  for value in string.gmatch(ARGV[1 + n + r], '[^ ]+') do
    count = count + 1
    args[count] = value
  end
  replies[r] = one({ unpack(KEYS, keyAt, keyAt + keyCount - 1) }, args)
  keyAt = keyAt + keyCount
end
${frame.epilogue ?? ""}
return replies
`;
}

/** One request's part of a batch: the keys and args its own EVALSHA of the single script would have sent. */
export interface ScriptCall {
  keys: readonly string[];
  args: readonly (string | number)[];
}

/** A call as it travels in a batch: its keys, and its args in one string. */
export interface PackedCall {
  keys: readonly string[];
  args: string;
}

/**
 * Packs one call; throws on an arg that is empty or holds a space, which would not survive the packing (the
 * admission scripts' args are numbers, kind codes and ticket ids), so that call fails alone, before it joins a batch.
 */
export function packCall(call: ScriptCall): PackedCall {
  let args = "";
  for (let i = 0; i < call.args.length; i++) {
    const value = String(call.args[i]);
    if (value === "" || value.includes(" ")) throw new Error(`A batched script arg must be non-empty and without spaces: ${JSON.stringify(value)}`);
    args = i === 0 ? value : `${args} ${value}`;
  }
  return { keys: call.keys, args };
}

/** The EVALSHA arguments for `calls`: every call's keys, the batch header (n, then each call's key count) and every call's args. */
export function batchArguments(calls: readonly PackedCall[]): { numKeys: number; keysAndArgs: (string | number)[] } {
  const keysAndArgs: (string | number)[] = [];
  for (const call of calls) for (const key of call.keys) keysAndArgs.push(key);
  const numKeys = keysAndArgs.length;
  keysAndArgs.push(calls.length);
  for (const call of calls) keysAndArgs.push(call.keys.length);
  for (const call of calls) keysAndArgs.push(call.args);
  return { numKeys, keysAndArgs };
}
