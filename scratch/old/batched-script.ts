// Turns a one-request Lua script into one that runs it for many requests in a single EVALSHA, in order.

/**
 * The single script reads the globals KEYS and ARGV and ends in `return …`; wrapped as a function whose parameters are
 * named KEYS and ARGV, the same text runs unchanged once per request, each run seeing the writes of the runs before
 * it, exactly as if the calls had reached Redis one after another.
 * ARGV layout: n, then (key count, arg count) per request, then every request's args; KEYS: every request's keys.
 * Returns one reply per request, in order.
 */
export function batchedScript(single: string): string {
  return `
local function one(KEYS, ARGV)
${single}
end
local n = tonumber(ARGV[1])
local replies = {}
local keyAt, argAt = 1, 2 + 2 * n
for r = 1, n do
  local keyCount, argCount = tonumber(ARGV[2 * r]), tonumber(ARGV[2 * r + 1])
  replies[r] = one({ unpack(KEYS, keyAt, keyAt + keyCount - 1) }, { unpack(ARGV, argAt, argAt + argCount - 1) })
  keyAt, argAt = keyAt + keyCount, argAt + argCount
end
return replies
`;
}

/** One request's part of a batch: what its own EVALSHA of the single script would have sent. */
export interface ScriptCall {
  numKeys: number;
  keysAndArgs: readonly (string | number)[];
}

/** The EVALSHA arguments for `calls`: the key count, then every call's keys, the batch header and every call's args. */
export function batchArguments(calls: readonly ScriptCall[]): { numKeys: number; keysAndArgs: (string | number)[] } {
  const keysAndArgs: (string | number)[] = [];
  for (const call of calls) for (let i = 0; i < call.numKeys; i++) keysAndArgs.push(call.keysAndArgs[i]!);
  const numKeys = keysAndArgs.length;
  keysAndArgs.push(calls.length);
  for (const call of calls) keysAndArgs.push(call.numKeys, call.keysAndArgs.length - call.numKeys);
  for (const call of calls) for (let i = call.numKeys; i < call.keysAndArgs.length; i++) keysAndArgs.push(call.keysAndArgs[i]!);
  return { numKeys, keysAndArgs };
}
