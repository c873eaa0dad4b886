// The two Lua scripts behind Redis admission: check-and-reserve (one round trip per request, or per quota lease) and settle.
// Same rules as the in-process engine (windows.ts, memory-admission.ts); keep the two in step.
import { batchedScript } from "./batched-script.ts";

/**
 * A minute counter (requests or tokens per minute) is a hash of five fields whatever the traffic:
 *   n: count in the window, l: newest second, c: count in second l, o: oldest counted second (l when only l counts),
 *   w: the counted seconds before l, oldest first, 12 bytes each (struct ">Id": second, count); "" when none.
 * So every check is one HMGET and at most one HSET: a request in the newest second touches n and c; one that opens a
 * new second appends c to w and cuts what left the window off its front. The x-ratelimit reset and a one-request wait
 * come from o, without reading any history; only a denial that needs several units freed walks w. A hash of the older
 * layout (a field per second, no c) is read as if everything counted in its newest second, which never admits more
 * than the limit, and rewritten. (A dense array of 61 counts, msgpack-encoded, cost ~25 µs per check to unpack, slide
 * and pack under sparse traffic; a field per second cost an HMGET and HDEL of the seconds dropped, a scan for the new
 * oldest one and an HGETALL for the reset.)
 */
const HISTORY = `
local ENTRY, ENTRY_SIZE = '>Id', 12

-- Cuts the seconds before cut off the front of history; returns what is left and the count dropped.
local function dropBefore(history, cut)
  local pos, dropped = 1, 0
  while pos < #history do
    local second, count = struct.unpack(ENTRY, history, pos)
    if second >= cut then break end
    dropped = dropped + count
    pos = pos + ENTRY_SIZE
  end
  if pos == 1 then return history, 0 end
  return string.sub(history, pos), dropped
end

local function firstSecond(history, otherwise)
  if #history == 0 then return otherwise end
  return (struct.unpack('>I', history, 1))
end
`;

/**
 * The minute-counter hashes of one batch (batched-script.ts): each is read by one HMGET the first time a request of
 * the batch needs it and written back by one DEL / HSET / PEXPIRE at the batch's end, however many of the batch's
 * requests counted in it. A burst from one principal fills batches with the same keys, and per request the commands
 * (and their Lua glue) were half of what a script cost in Redis. Nothing outside the script sees the difference: the
 * script is atomic, and every read of these hashes inside it goes through here.
 * An entry is the HMGET reply (fields n, l, c, o, w; false where absent) plus what the flush must do.
 */
const RATE_STORE = `
-- A batch of one request gains nothing from the cache and would pay for it: its commands go straight to Redis.
local rateDirect = tonumber(ARGV[1]) == 1
local rateCache, rateOrder, RATE_FIELDS, RATE_INDEX
if not rateDirect then
  rateCache, rateOrder = {}, {}
  RATE_FIELDS, RATE_INDEX = { 'n', 'l', 'c', 'o', 'w' }, { n = 1, l = 2, c = 3, o = 4, w = 5 }
end

local function rateEntry(key)
  local e = rateCache[key]
  if not e then
    local s = redis.call('HMGET', key, 'n', 'l', 'c', 'o', 'w')
    e = { s[1], s[2], s[3], s[4], s[5], set = {}, dirty = false, del = false, ttl = false }
    rateCache[key] = e
    rateOrder[#rateOrder + 1] = key
  end
  return e
end

-- Like HMGET key n l c o w (the caller only reads the reply).
local function rateRead(key)
  if rateDirect then return redis.call('HMGET', key, 'n', 'l', 'c', 'o', 'w') end
  return rateEntry(key)
end

-- Like HSET key field value [field value ...], for the fields above.
local function rateWrite(key, ...)
  if rateDirect then
    redis.call('HSET', key, ...)
    return
  end
  local e, fields = rateEntry(key), { ... }
  for i = 1, #fields, 2 do
    local at = RATE_INDEX[fields[i]]
    e[at], e.set[at] = fields[i + 1], true
  end
  e.dirty = true
end

-- Like DEL key.
local function rateDelete(key)
  if rateDirect then
    redis.call('DEL', key)
    return
  end
  local e = rateEntry(key)
  e[1], e[2], e[3], e[4], e[5] = false, false, false, false, false
  e.set, e.del, e.dirty, e.ttl = {}, true, false, false
end

-- Like PEXPIRE key ttl.
local function rateExpire(key, ttl)
  if rateDirect then
    redis.call('PEXPIRE', key, ttl)
    return
  end
  rateEntry(key).ttl = ttl
end

-- Writes one entry back (only the fields the batch changed) and forgets it: a later read reads Redis again.
local function rateFlushKey(key)
  local e = rateCache[key]
  if not e then return end
  rateCache[key] = nil
  if e.del then redis.call('DEL', key) end
  if e.dirty then
    local args = {}
    for i = 1, 5 do
      if e.set[i] then
        args[#args + 1] = RATE_FIELDS[i]
        args[#args + 1] = e[i]
      end
    end
    redis.call('HSET', key, unpack(args))
  end
  if e.ttl and (e.dirty or not e.del) then redis.call('PEXPIRE', key, e.ttl) end
end

local function flushRates()
  if rateDirect then return end
  for _, key in ipairs(rateOrder) do rateFlushKey(key) end
end
`;

/**
 * Keys (one per check, in check order):
 *   requests / tokens per minute: the hash above, expiring RATE_TTL after the write that opened its newest minute
 *   request log (per second, small per-minute limits): sorted set ticket id → admission time (ms), entries older
 *                      than the check's window dropped on every admit
 *   concurrency:       sorted set ticket id → lease end (ms); expired leases are dropped on every admit
 *   budget:            integer micro-dollars spent + reserved in one period window, expires at the window's end
 * ARGV: second, now ms, estimated tokens, estimated micros, ticket id, lease ms, rate ttl ms,
 *   then per check: kind ("r" | "s" | "t" | "c" | "b"), limit (cap for "b"), then for "b" the window end ms (0 =
 *   never), for "s" the window length ms, else 0.
 * Returns { failed check (0-based, -1 = admitted), wait ms, requests limit/remaining/reset ms, tokens limit/remaining/reset ms }
 * with limit -1 when no check of that dimension exists; a per-second request limit competes for the requests headers.
 * Nothing is counted unless every check passes; a denial writes only what sliding a window forward changed.
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
local units = tonumber(ARGV[8])
local HEAD = 8
${HISTORY}
-- Per minute check c: count in window, the second a new count goes into (the newest second seen, when this caller's
-- clock is behind another instance's), the count already in it, the oldest counted second, the history before it,
-- and whether the whole state must be written (the window moved).
local totals, seconds, currents, oldests, histories, moved = {}, {}, {}, {}, {}, {}
-- Whether a write must push the expiry back: the hash is new, or its newest second enters another minute. Pushed
-- back once a minute by RATE_TTL (180 s), a hash outlives every second it holds by 60 s or more.
local renew = {}

-- A requests-per-minute counter with nothing in its window, whose exact log (same scope: the limit was in the log's
-- range until now) holds requests of the last minute, starts from them, per second (windows.ts counterFromLog).
local function seedFromLog(c, key)
  local entries = redis.call('ZRANGEBYSCORE', (string.gsub(key, ':rpm$', ':rlog' .. W * 1000)), '(' .. (now - W * 1000), '+inf', 'WITHSCORES')
  if #entries == 0 then return end
  local counts, order = {}, {}
  for i = 2, #entries, 2 do
    local second = math.min(math.floor(tonumber(entries[i]) / 1000), index)
    if not counts[second] then
      counts[second] = 0
      order[#order + 1] = second
    end
    counts[second] = counts[second] + 1
  end
  local total, history = 0, ''
  for _, second in ipairs(order) do
    total = total + counts[second]
    if second < index then history = history .. struct.pack(ENTRY, second, counts[second]) end
  end
  totals[c], currents[c], oldests[c], histories[c] = total, counts[index] or 0, order[1], history
end

local function slide(c, key, kind)
  local state = rateRead(key)
  local latest = tonumber(state[2])
  local total = tonumber(state[1]) or 0
  local current = tonumber(state[3])
  if latest and not current and index - latest <= W then
    -- The older layout: keep its count as if all of it came in its newest second, and write the new layout.
    rateDelete(key)
    moved[c], renew[c] = true, true
    if index <= latest or total <= 0 then
      totals[c], seconds[c], currents[c], oldests[c], histories[c] = total, math.max(index, latest), total, latest, ''
    else
      totals[c], seconds[c], currents[c], oldests[c], histories[c] = total, index, 0, latest, struct.pack(ENTRY, latest, total)
    end
    return
  end
  if not latest or index - latest > W then
    if latest then rateDelete(key) end
    totals[c], seconds[c], currents[c], oldests[c], histories[c], moved[c], renew[c] = 0, index, 0, index, '', true, true
    if kind == 'r' then seedFromLog(c, key) end
    return
  end
  local history = state[5] or ''
  if index <= latest then
    totals[c], seconds[c], currents[c], oldests[c], histories[c], moved[c] = total, latest, current, tonumber(state[4]) or latest, history, false
    return
  end
  -- A new second: the newest one joins the history and what left the window is cut off.
  if current > 0 then history = history .. struct.pack(ENTRY, latest, current) end
  local dropped
  history, dropped = dropBefore(history, index - W)
  total = total - dropped
  renew[c] = math.floor(index / W) ~= math.floor(latest / W)
  if total <= 0 or #history == 0 then
    rateDelete(key)
    total, history, renew[c] = 0, '', true
  end
  totals[c], seconds[c], currents[c], oldests[c], histories[c], moved[c] = total, index, 0, firstSecond(history, index), history, true
end

-- Milliseconds until amount units of a minute counter have left the window, oldest second first.
local function freesIn(c, amount)
  if amount <= 1 and totals[c] > 0 then return (oldests[c] + W + 1) * 1000 - now end
  local history, freed, pos = histories[c], 0, 1
  while pos < #history do
    local second, count = struct.unpack(ENTRY, history, pos)
    freed = freed + count
    if freed >= amount then return (second + W + 1) * 1000 - now end
    pos = pos + ENTRY_SIZE
  end
  if freed + currents[c] >= amount then return (seconds[c] + W + 1) * 1000 - now end
  return W * 1000
end

-- An empty minute log whose requests-per-minute counter (same scope, the limit was above the log's range until now)
-- still holds seconds in the window takes the newest limit of them as entries (windows.ts seedFromCounter). The
-- counter's key is not in KEYS: it differs from the log's only in its suffix, so it shares the hash tag (the
-- principal's scope) and sits in the same cluster slot.
local function seedFromCounter(key, limit, span)
  local state = rateRead((string.gsub(key, 'rlog%d+$', 'rpm')))
  local latest, current = tonumber(state[2]), tonumber(state[3])
  if not latest or not current then return 0 end
  local seconds = { { latest, current } }
  local history, pos = state[5] or '', 1
  local older = {}
  while pos < #history do
    local second, count = struct.unpack(ENTRY, history, pos)
    older[#older + 1] = { second, count }
    pos = pos + ENTRY_SIZE
  end
  for i = #older, 1, -1 do seconds[#seconds + 1] = older[i] end
  local added = 0
  for _, entry in ipairs(seconds) do
    local at = math.min(entry[1] * 1000 + 999, now)
    if at <= now - span or added >= limit then break end
    for i = 1, entry[2] do
      if added >= limit then break end
      added = added + 1
      redis.call('ZADD', key, at, 'seed:' .. entry[1] .. ':' .. i)
    end
  end
  if added > 0 then redis.call('PEXPIRE', key, span * 2) end
  return added
end

-- Every minute counter slides first, so that a lease (units > 1) can see how much room each one has.
for c = 1, #KEYS do
  local kind = ARGV[HEAD + (c - 1) * 3 + 1]
  if kind == 'r' or kind == 't' then slide(c, KEYS[c], kind) end
end

-- A lease (admission-leases.ts) asks for up to units requests at once, each with this request's estimates, and gets
-- as many as every check has room for; at least one, so that a lease with no room is refused by the checks below
-- exactly as a single request would be. Leases never carry per-second, exact-log or concurrency checks.
if units > 1 then
  local spend = tonumber(micros)
  for c = 1, #KEYS do
    local base = HEAD + (c - 1) * 3
    local kind = ARGV[base + 1]
    local limit = tonumber(ARGV[base + 2])
    local each, room = 0, 0
    if kind == 'r' then
      each, room = 1, limit - totals[c]
    elseif kind == 't' then
      each, room = tokens, limit - totals[c]
    elseif kind == 'b' then
      each, room = spend, limit - tonumber(redis.call('GET', KEYS[c]) or '0')
    end
    if each > 0 then units = math.min(units, math.floor(room / each)) end
  end
  if units < 1 then units = 1 end
  tokens = tokens * units
  micros = string.format('%.0f', spend * units)
end

local failed = -1
local waitMs = 0
local budgets = {}
for c = 1, #KEYS do
  local key = KEYS[c]
  local base = HEAD + (c - 1) * 3
  local kind = ARGV[base + 1]
  local limit = tonumber(ARGV[base + 2])
  if kind == 'r' or kind == 't' then
    local total = totals[c]
    local cost = tokens
    if kind == 'r' then cost = units end
    if failed < 0 and not (total < limit and total + cost <= limit) then
      failed = c - 1
      if cost > limit then waitMs = W * 1000 else waitMs = freesIn(c, math.max(1, total + cost - limit)) end
    end
  elseif kind == 's' then
    local span = tonumber(ARGV[base + 3])
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - span)
    local count = redis.call('ZCARD', key)
    if count == 0 and span == W * 1000 and limit >= 1 then count = seedFromCounter(key, limit, span) end
    totals[c] = count
    if failed < 0 and count >= limit then
      failed = c - 1
      waitMs = span
      if limit >= 1 then
        local entry = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
        waitMs = tonumber(entry[2]) + span - now
      end
    end
  elseif kind == 'c' then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
    if failed < 0 and redis.call('ZCARD', key) >= limit then failed = c - 1 end
  else
    budgets[#budgets + 1] = c
  end
end

-- Budgets last, each in one command: with every rate check passed a reservation is made by INCRBY and taken back
-- when it does not fit (the script is atomic: nobody sees the difference); a budget before a failed rate check is only
-- read, since the first failing check names the reason. A counter INCRBY created gets its window's expiry, and one
-- taken back to nothing is deleted rather than left without one.
local spend = tonumber(micros)
local reserved = {}
for _, c in ipairs(budgets) do
  local key = KEYS[c]
  local cap = tonumber(ARGV[HEAD + (c - 1) * 3 + 2])
  if failed >= 0 or spend == 0 then
    if failed >= 0 and c - 1 > failed then break end
    local used = tonumber(redis.call('GET', key) or '0')
    if not (used < cap and used + spend <= cap) then
      failed = c - 1
      break
    end
  else
    local after = redis.call('INCRBY', key, micros)
    reserved[#reserved + 1] = { c, after }
    if not (after - spend < cap and after <= cap) then
      failed = c - 1
      for _, entry in ipairs(reserved) do
        if entry[2] == spend then redis.call('DEL', KEYS[entry[1]]) else redis.call('DECRBY', KEYS[entry[1]], micros) end
      end
      break
    end
  end
end
if failed < 0 then
  for _, entry in ipairs(reserved) do
    local ends = tonumber(ARGV[HEAD + (entry[1] - 1) * 3 + 3])
    if entry[2] == spend and ends > 0 then redis.call('PEXPIREAT', KEYS[entry[1]], ends) end
  end
end

local admitted = failed < 0
for c = 1, #KEYS do
  local key = KEYS[c]
  local base = HEAD + (c - 1) * 3
  local kind = ARGV[base + 1]
  if kind == 'r' or kind == 't' then
    local cost = 0
    if admitted then
      cost = tokens
      if kind == 'r' then cost = units end
    end
    if cost > 0 then
      totals[c], currents[c] = totals[c] + cost, currents[c] + cost
      if totals[c] == currents[c] then oldests[c] = seconds[c] end
    end
    if moved[c] and totals[c] > 0 then
      rateWrite(key, 'n', totals[c], 'l', seconds[c], 'c', currents[c], 'o', oldests[c], 'w', histories[c])
      if renew[c] then rateExpire(key, ttl) end
    elseif cost > 0 then
      rateWrite(key, 'n', totals[c], 'c', currents[c], 'o', oldests[c])
    end
  elseif admitted and kind == 's' then
    redis.call('ZADD', key, now, ticket)
    totals[c] = totals[c] + 1
    redis.call('PEXPIRE', key, tonumber(ARGV[base + 3]) * 2)
  elseif admitted and kind == 'c' then
    redis.call('ZADD', key, now + lease, ticket)
    redis.call('PEXPIRE', key, lease)
  end
end

-- The x-ratelimit-* values of the dimension's tightest window (least remaining), after this request's writes.
local function tightest(tokensDimension)
  local best, bestLimit, bestRemaining
  for c = 1, #KEYS do
    local kind = ARGV[HEAD + (c - 1) * 3 + 1]
    if (kind == 't') == tokensDimension and (kind == 't' or kind == 'r' or kind == 's') then
      local limit = tonumber(ARGV[HEAD + (c - 1) * 3 + 2])
      local remaining = math.max(0, limit - totals[c])
      if not best or remaining < bestRemaining then best, bestLimit, bestRemaining = c, limit, remaining end
    end
  end
  if not best then return -1, 0, 0 end
  if totals[best] <= 0 then return bestLimit, bestRemaining, 0 end
  if ARGV[HEAD + (best - 1) * 3 + 1] == 's' then
    local entry = redis.call('ZRANGE', KEYS[best], 0, 0, 'WITHSCORES')
    return bestLimit, bestRemaining, tonumber(entry[2]) + tonumber(ARGV[HEAD + (best - 1) * 3 + 3]) - now
  end
  return bestLimit, bestRemaining, (oldests[best] + W + 1) * 1000 - now
end

local rLimit, rRemaining, rReset = tightest(false)
local tLimit, tRemaining, tReset = tightest(true)
return { failed, waitMs, rLimit, rRemaining, rReset, tLimit, tRemaining, tReset, units }
`;

/**
 * Keys: one per tokens / concurrency / budget check of the ticket, derived again from ticket.buckets and ticket.at;
 * a lease's settle (admission-leases.ts) also names its requests-per-minute counters, to hand back requests it did not use.
 * ARGV: reservation second, current second (only consulted when the hash is gone), token delta, micros delta, actual micros, ticket id, rate ttl ms,
 *   request delta, then per check: kind, window end ms.
 * A token count moves by the delta but never below what its second holds; a reservation second already out of the
 * window is left alone. A budget counter that is gone (its window ended, or Redis lost it) gets the actual spend and
 * its expiry again, so an ended window's key disappears at once.
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
local requestDelta = tonumber(ARGV[8])
${HISTORY}
local function settleCount(key, change)
  local state = rateRead(key)
  local latest = tonumber(state[2])
  local total = tonumber(state[1]) or 0
  local newest = tonumber(state[3])
  if not latest then
    if change > 0 and second >= current - W then
      rateWrite(key, 'n', change, 'l', second, 'c', change, 'o', second, 'w', '')
      rateExpire(key, ttl)
    end
    return
  end
  if second < latest - W then return end
  if not newest then
    -- The older layout, whose seconds are not known here: only what is added is sure to stay in the window.
    -- (A hash of that layout is never written whole, so it leaves the cache: flushed, then changed in Redis.)
    if change > 0 then
      rateFlushKey(key)
      redis.call('HINCRBY', key, 'n', change)
    end
    return
  end
  if second >= latest then
    local delta = math.max(change, -newest)
    if delta == 0 then return end
    rateWrite(key, 'n', total + delta, 'c', newest + delta)
    return
  end
  -- An older second: its entry in history moves (and goes at 0; a reservation of 0 that turns out to cost something
  -- adds one).
  local history = state[5] or ''
  local pos = 1
  while pos < #history and struct.unpack('>I', history, pos) < second do pos = pos + ENTRY_SIZE end
  local count, size = 0, 0
  if pos < #history then
    local at, held = struct.unpack(ENTRY, history, pos)
    if at == second then count, size = held, ENTRY_SIZE end
  end
  local delta = math.max(change, -count)
  if delta == 0 then return end
  local entry = ''
  if count + delta > 0 then entry = struct.pack(ENTRY, second, count + delta) end
  history = string.sub(history, 1, pos - 1) .. entry .. string.sub(history, pos + size)
  rateWrite(key, 'n', total + delta, 'o', firstSecond(history, latest), 'w', history)
end

for c = 1, #KEYS do
  local key = KEYS[c]
  local kind = ARGV[7 + c * 2]
  local ends = tonumber(ARGV[8 + c * 2])
  if kind == 't' then
    if tokenDelta ~= 0 then settleCount(key, tokenDelta) end
  elseif kind == 'r' then
    if requestDelta ~= 0 then settleCount(key, requestDelta) end
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

/** What redis-admission.ts loads: each script run for every request of a batch, around one batch-wide rate cache. */
export const ADMIT_MANY_SCRIPT = batchedScript(ADMIT_SCRIPT, { prelude: RATE_STORE, epilogue: "flushRates()" });
export const SETTLE_MANY_SCRIPT = batchedScript(SETTLE_SCRIPT, { prelude: RATE_STORE, epilogue: "flushRates()" });
