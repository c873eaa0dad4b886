// The two Lua scripts behind Redis admission: check-and-reserve (one round trip per request) and settle.
// Same rules as the in-process engine (windows.ts, memory-admission.ts); keep the two in step.

/**
 * Keys (one per check, in check order):
 *   requests / tokens: hash { n: count in window, l: newest second, <second>: count }, expires RATE_TTL after a write
 *   concurrency:       sorted set ticket id → lease end (ms); expired leases are dropped on every admit
 *   budget:            integer micro-dollars spent + reserved in one period window, expires at the window's end
 * ARGV: second, now ms, estimated tokens, estimated micros, ticket id, lease ms, rate ttl ms,
 *   then per check: kind ("r" | "t" | "c" | "b"), limit (cap for "b"), window end ms (0 = never).
 * Returns { failed check (0-based, -1 = admitted), wait ms, requests limit/remaining/reset ms, tokens limit/remaining/reset ms }
 * with limit -1 when no check of that dimension exists. Nothing is written unless every check passes.
 */
export const ADMIT_SCRIPT = `
local W = 60
local index = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
local tokens = tonumber(ARGV[3])
local micros = ARGV[4]
local ticket = ARGV[5]
local lease = tonumber(ARGV[6])
local ttl = tonumber(ARGV[7])

-- Drops seconds that left the window; returns the count still in it and the second a new count goes into
-- (the newest second seen, when this caller's clock is behind another instance's).
local function slide(key)
  local state = redis.call('HMGET', key, 'n', 'l')
  local latest = tonumber(state[2])
  if not latest then return 0, index end
  local total = tonumber(state[1]) or 0
  if index - latest > W then
    redis.call('DEL', key)
    return 0, index
  end
  if index <= latest then return total, latest end
  for second = latest - W, index - W - 1 do
    local count = redis.call('HGET', key, second)
    if count then
      total = total - tonumber(count)
      redis.call('HDEL', key, second)
    end
  end
  redis.call('HSET', key, 'n', total, 'l', index)
  return total, index
end

-- Milliseconds until amount units have left the window, oldest second first.
local function freesIn(key, latest, amount)
  if amount <= 0 then return 0 end
  local flat = redis.call('HGETALL', key)
  local counts = {}
  for k = 1, #flat, 2 do counts[flat[k]] = tonumber(flat[k + 1]) end
  local freed = 0
  for second = latest - W, latest do
    freed = freed + (counts[tostring(second)] or 0)
    if freed >= amount then return (second + W + 1) * 1000 - now end
  end
  return W * 1000
end

local failed = -1
local waitMs = 0
local totals = {}
local seconds = {}
for c = 1, #KEYS do
  local key = KEYS[c]
  local base = 7 + (c - 1) * 3
  local kind = ARGV[base + 1]
  local limit = tonumber(ARGV[base + 2])
  if kind == 'r' or kind == 't' then
    local total, second = slide(key)
    totals[c] = total
    seconds[c] = second
    local cost = tokens
    if kind == 'r' then cost = 1 end
    if failed < 0 and not (total < limit and total + cost <= limit) then
      failed = c - 1
      if cost > limit then waitMs = W * 1000 else waitMs = freesIn(key, second, math.max(1, total + cost - limit)) end
    end
  elseif kind == 'c' then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
    if failed < 0 and redis.call('ZCARD', key) >= limit then failed = c - 1 end
  elseif failed < 0 then
    local used = tonumber(redis.call('GET', key) or '0')
    if not (used < limit and used + tonumber(micros) <= limit) then failed = c - 1 end
  end
end

if failed < 0 then
  for c = 1, #KEYS do
    local key = KEYS[c]
    local base = 7 + (c - 1) * 3
    local kind = ARGV[base + 1]
    if kind == 'r' or kind == 't' then
      local cost = tokens
      if kind == 'r' then cost = 1 end
      if cost > 0 then
        redis.call('HINCRBY', key, seconds[c], cost)
        totals[c] = redis.call('HINCRBY', key, 'n', cost)
        redis.call('HSETNX', key, 'l', seconds[c])
        redis.call('PEXPIRE', key, ttl)
      end
    elseif kind == 'c' then
      redis.call('ZADD', key, now + lease, ticket)
      redis.call('PEXPIRE', key, lease)
    elseif micros ~= '0' then
      redis.call('INCRBY', key, micros)
      local ends = tonumber(ARGV[base + 3])
      if ends > 0 then redis.call('PEXPIREAT', key, ends) end
    end
  end
end

-- The x-ratelimit-* values of the dimension's tightest window (least remaining), after this request's writes.
local function tightest(code)
  local best, bestLimit, bestRemaining
  for c = 1, #KEYS do
    local base = 7 + (c - 1) * 3
    if ARGV[base + 1] == code then
      local limit = tonumber(ARGV[base + 2])
      local remaining = math.max(0, limit - totals[c])
      if not best or remaining < bestRemaining then best, bestLimit, bestRemaining = c, limit, remaining end
    end
  end
  if not best then return -1, 0, 0 end
  local reset = 0
  if totals[best] > 0 then reset = freesIn(KEYS[best], seconds[best], 1) end
  return bestLimit, bestRemaining, reset
end

local rLimit, rRemaining, rReset = tightest('r')
local tLimit, tRemaining, tReset = tightest('t')
return { failed, waitMs, rLimit, rRemaining, rReset, tLimit, tRemaining, tReset }
`;

/**
 * Keys: one per tokens / concurrency / budget check of the ticket, derived again from ticket.buckets and ticket.at.
 * ARGV: reservation second, current second (only consulted when the hash is gone), token delta, micros delta, actual micros, ticket id, rate ttl ms,
 *   then per check: kind, window end ms.
 * A reservation second already out of the window is left alone; a budget counter that is gone (its window ended, or
 * Redis lost it) gets the actual spend and its expiry again, so an ended window's key disappears at once.
 */
export const SETTLE_SCRIPT = `
local W = 60
local second = tonumber(ARGV[1])
local current = tonumber(ARGV[2])
local tokenDelta = tonumber(ARGV[3])
local microsDelta = ARGV[4]
local actualMicros = ARGV[5]
local ticket = ARGV[6]
local ttl = tonumber(ARGV[7])
for c = 1, #KEYS do
  local key = KEYS[c]
  local kind = ARGV[6 + c * 2]
  local ends = tonumber(ARGV[7 + c * 2])
  if kind == 't' then
    local state = redis.call('HMGET', key, 'l', second)
    local latest = tonumber(state[1]) or current
    local delta = math.max(tokenDelta, -(tonumber(state[2]) or 0))
    if delta ~= 0 and second >= latest - W then
      redis.call('HINCRBY', key, second, delta)
      redis.call('HINCRBY', key, 'n', delta)
      redis.call('HSETNX', key, 'l', second)
      redis.call('PEXPIRE', key, ttl)
    end
  elseif kind == 'c' then
    redis.call('ZREM', key, ticket)
  elseif redis.call('EXISTS', key) == 1 then
    if microsDelta ~= '0' and redis.call('INCRBY', key, microsDelta) < 0 then redis.call('SET', key, 0, 'KEEPTTL') end
  else
    redis.call('INCRBY', key, actualMicros)
    if ends > 0 then redis.call('PEXPIREAT', key, ends) end
  end
end
return 1
`;
