/**
 * The Lua side of the shared rate limiter (rate-limiter.ts). Each script runs atomically in
 * Redis, reads the clock with `TIME` (one clock for every process, whatever their own clocks
 * say) and works on two keys of one `provider/model`:
 *
 * - `log`: a sorted set, one member per counted request, scored by the millisecond from which it
 *   counts; the member is `<seq>:<tokens>:<requests>` so a script can sum without a second key.
 *   Scores may lie in the future: those are reservations of callers still sleeping.
 * - `state`: a hash with running sums of the log (`tok`, `req`, so admission is O(log n) and the
 *   log is only walked when a caller must wait), the member counter `seq`, `paused` (ms epoch),
 *   the limits the provider's headers reported (`htpm`, `hrpm`), `ratio`, a moving average of
 *   billed ÷ estimated tokens that scales every new estimate, and the pacing clocks `ttok`, `treq`
 *   (GCRA's theoretical arrival time, one per limit) with `ptpm`, the token rate `ttok` runs at.
 *
 * ARGV[1] is always the window length in ms; both keys get a TTL so an idle limiter leaves nothing.
 */
import { createHash } from 'node:crypto';

export interface LuaScript {
  readonly source: string;
  readonly sha: string;
}

function lua(body: string): LuaScript {
  const source = PRELUDE + body;
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

const PRELUDE = `
local log, state = KEYS[1], KEYS[2]
local W = tonumber(ARGV[1])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)

local function parse(m)
  local tk, rq = string.match(m, '^%d+:(%d+):(%d+)$')
  return tonumber(tk), tonumber(rq)
end

local function sum(members)
  local tk, rq = 0, 0
  for _, m in ipairs(members) do
    local a, b = parse(m)
    tk = tk + a
    rq = rq + b
  end
  return tk, rq
end

-- Never "-0": Lua 5.1 prints a negated zero that way, and HINCRBY rejects it.
local function incr(field, n)
  if n ~= 0 then redis.call('HINCRBY', state, field, n) end
end

local function touch(ms)
  for _, k in ipairs({log, state}) do
    if redis.call('PTTL', k) < ms then redis.call('PEXPIRE', k, ms) end
  end
end

local function add(at, tk, rq)
  local member = redis.call('HINCRBY', state, 'seq', 1) .. ':' .. tk .. ':' .. rq
  redis.call('ZADD', log, at, member)
  incr('tok', tk)
  incr('req', rq)
  return member
end

-- An entry counted from s stops counting at s + W: forget it, and keep the sums in step.
local gone = redis.call('ZRANGEBYSCORE', log, '-inf', now - W)
if #gone > 0 then
  local tk, rq = sum(gone)
  redis.call('ZREMRANGEBYSCORE', log, '-inf', now - W)
  incr('tok', 0 - tk)
  incr('req', 0 - rq)
end
if #gone > 0 and redis.call('ZCARD', log) == 0 then redis.call('HSET', state, 'tok', 0, 'req', 0) end
local S = redis.call('HMGET', state, 'tok', 'req', 'paused', 'htpm', 'hrpm', 'ratio', 'ttok', 'treq', 'ptpm')
local tok, req, paused = tonumber(S[1]) or 0, tonumber(S[2]) or 0, tonumber(S[3]) or 0
`;

/**
 * ARGV: W, estimated tokens, configured tpm, configured rpm (0 = none), headroom, horizon ms,
 * ttl ms, pause jitter ms (already randomized by the caller: Redis scripts have no free
 * randomness), guard ms, burst ms. Finds the earliest moment t ≥ max(now, last reservation, pause
 * end) at which one more request of these tokens fits in the window (t−W, t] under both limits,
 * plus the guard when it has to wait for an entry to leave (the provider saw that entry a little
 * after we counted it, so its window lets go of it a little later than ours); then no earlier than
 * the even pace allows (GCRA: each request moves a clock on by its share of the window, and may
 * run at most `burst` ms ahead of it), so a window's budget is spread over the window instead of
 * going out in one burst that repeats every window. Returns
 * `{1, wait, member, charged, at}` with the place reserved, or `{0, wait}` when t is beyond the horizon.
 */
export const ACQUIRE = lua(`
local raw, cfgTpm, cfgRpm, headroom = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local horizon, ttl, jitter, guard, burst = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10])
local function limit(cfg, hdr)
  local l = cfg
  if hdr and hdr > 0 and (l <= 0 or hdr < l) then l = hdr end
  if l <= 0 then return 0 end
  return math.max(1, math.floor(l * headroom))
end
local tpm, rpm = limit(cfgTpm, tonumber(S[4])), limit(cfgRpm, tonumber(S[5]))
local charged = math.ceil(raw * (tonumber(S[6]) or 1))

local base = now
if paused > now then base = paused + jitter end
local last = redis.call('ZRANGE', log, -1, -1, 'WITHSCORES')
if #last > 0 and tonumber(last[2]) > base then base = tonumber(last[2]) end

-- Usage of the window ending at base (reservations up to base included).
local usedTok, usedReq = tok, req
if base > now then
  local a, b = sum(redis.call('ZRANGEBYSCORE', log, '-inf', base - W))
  usedTok, usedReq = usedTok - a, usedReq - b
end
local at = base
local needTok, needReq = 0, 0
if tpm > 0 then needTok = usedTok + charged - tpm end
if rpm > 0 then needReq = usedReq + 1 - rpm end
if needTok > 0 or needReq > 0 then
  -- Walk from the oldest entry: the request fits once enough of them have left the window.
  -- A request larger than the whole limit waits for an empty window (the provider decides then).
  local items = redis.call('ZRANGEBYSCORE', log, '(' .. (base - W), '+inf', 'WITHSCORES')
  for i = 1, #items, 2 do
    if needTok <= 0 and needReq <= 0 then break end
    local a, b = parse(items[i])
    needTok, needReq = needTok - a, needReq - b
    at = tonumber(items[i + 1]) + W + guard
  end
end
local ttok, treq = tonumber(S[7]) or 0, tonumber(S[8]) or 0
if tpm > 0 then at = math.max(at, math.ceil(ttok - burst)) end
if rpm > 0 then at = math.max(at, math.ceil(treq - burst)) end
if at - now > horizon then return {0, at - now} end
-- A place given back later (abort, pause) keeps its pace slot: the clocks only run ahead.
if tpm > 0 then redis.call('HSET', state, 'ttok', tostring(math.max(ttok, at) + charged * W / tpm), 'ptpm', tpm) end
if rpm > 0 then redis.call('HSET', state, 'treq', tostring(math.max(treq, at) + W / rpm)) end
local member = add(at, charged, 1)
touch(at - now + ttl)
return {1, at - now, member, charged, at}
`);

/**
 * ARGV: W, member, only-if-paused ('1' | '0'). Takes a reservation (or a counted request) back
 * out of the window. With '1' it is the check of a caller that woke up for its reservation: only
 * a pause that began meanwhile takes it back (the caller queues again). A late wake-up is not
 * re-timed: RECONCILE moves the entry to the response, which is later still. Returns the pause left.
 */
export const RELEASE = lua(`
local left = math.max(0, paused - now)
if ARGV[3] == '1' and left == 0 then return 0 end
if redis.call('ZREM', log, ARGV[2]) == 1 then
  local a, b = parse(ARGV[2])
  incr('tok', 0 - a)
  incr('req', 0 - b)
end
return left
`);

/**
 * ARGV: W, member, billed tokens, raw estimate, smoothing (0..1). The response is back: the
 * provider counted the request at some moment between sending and now, so the entry now counts
 * from now with the billed tokens (it leaves our window no earlier than the provider's), the pace
 * clock is charged the difference too (else the window, holding more than the pace accounted
 * for, would stop callers for long stretches), and the estimate ratio moves towards billed ÷
 * estimated. An entry that already left (a call slower than the window) is counted again from now.
 */
export const RECONCILE = lua(`
local member, actual, raw, alpha = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local seq, tk, rq = string.match(member, '^(%d+):(%d+):(%d+)$')
local score = tonumber(redis.call('ZSCORE', log, member))
if score then
  redis.call('ZREM', log, member)
  redis.call('ZADD', log, math.max(score, now), seq .. ':' .. actual .. ':' .. rq)
  incr('tok', actual - tonumber(tk))
  local ptpm = tonumber(S[9]) or 0
  if ptpm > 0 and S[7] then redis.call('HSET', state, 'ttok', tostring(tonumber(S[7]) + (actual - tonumber(tk)) * W / ptpm)) end
else
  add(now, actual, tonumber(rq))
end
if raw > 0 and actual > 0 then
  local ratio = tonumber(S[6]) or 1
  ratio = ratio + alpha * (actual / raw - ratio)
  redis.call('HSET', state, 'ratio', tostring(math.min(4, math.max(0.25, ratio))))
  touch(2 * W)
end
return 0
`);

/**
 * ARGV: W, limit tokens, limit requests, remaining tokens, remaining requests, reset tokens ms,
 * reset requests ms (each -1 when the response lacked it), tolerance (fraction of the limit), ttl
 * ms. Records the provider's limits, and when the provider reports more usage than the log holds
 * up to now (another client on the same key, estimates still low, a 429's "0 remaining") counts
 * the difference as a request-less entry that leaves the window when the provider says its budget
 * is restored (`x-ratelimit-reset-*`): an entry counts for W from its score, so it is scored
 * `now + reset − W`. Without a reset header it counts for the whole window from now.
 * Returns {tokens added, requests added, ms until the token entry leaves, ms until the request entry leaves}.
 */
export const OBSERVE = lua(`
local limTok, limReq, remTok, remReq = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local resetTok, resetReq, tol, ttl = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
if limTok > 0 then redis.call('HSET', state, 'htpm', limTok) end
if limReq > 0 then redis.call('HSET', state, 'hrpm', limReq) end
local a, b = sum(redis.call('ZRANGEBYSCORE', log, '(' .. now, '+inf'))
local ourTok, ourReq = tok - a, req - b
local dt, dr = 0, 0
if limTok > 0 and remTok >= 0 and (limTok - remTok) - ourTok > tol * limTok then dt = math.ceil(limTok - remTok - ourTok) end
if limReq > 0 and remReq >= 0 and (limReq - remReq) - ourReq > math.max(1, tol * limReq) then dr = math.ceil(limReq - remReq - ourReq) end
local function leaves(reset)
  if reset < 0 or reset > W then return W end
  return reset
end
local lt, lr = 0, 0
-- A budget the provider says is already restored needs no entry.
if dt > 0 then lt = leaves(resetTok) end
if dr > 0 then lr = leaves(resetReq) end
if dt > 0 and lt <= 0 then dt = 0 end
if dr > 0 and lr <= 0 then dr = 0 end
if dt > 0 and dr > 0 and lt == lr then add(now + lt - W, dt, dr)
else
  if dt > 0 then add(now + lt - W, dt, 0) end
  if dr > 0 then add(now + lr - W, 0, dr) end
end
touch(ttl)
return {dt, dr, lt, lr}
`);

/** ARGV: W, ms, ttl ms. Extends the pause to now + ms (never shortens it). Returns the pause left. */
export const PAUSE = lua(`
local untilMs = math.max(paused, now + tonumber(ARGV[2]))
redis.call('HSET', state, 'paused', untilMs)
touch(untilMs - now + tonumber(ARGV[3]))
return untilMs - now
`);

/** ARGV: W. Returns {tokens, requests, pause left, reported tpm, reported rpm, ratio×1000} as of now. */
export const USAGE = lua(`
local a, b = sum(redis.call('ZRANGEBYSCORE', log, '(' .. now, '+inf'))
return {tok - a, req - b, math.max(0, paused - now), tonumber(S[4]) or 0, tonumber(S[5]) or 0, math.floor((tonumber(S[6]) or 1) * 1000)}
`);

/**
 * ARGV: W, tokens, tpm, rpm (0 = none), ttl ms. Admits one request now or refuses it, for limits
 * that answer a client instead of scheduling it (a gateway key's rpm/tpm): no reservations ahead,
 * no pacing, the plain sliding window. Admitted: `{1, ms until the oldest entry leaves, tokens
 * used, requests used}` with this request counted. Refused: `{0, ms until it would fit (-1:
 * never, more tokens than the whole limit), 'rpm' | 'tpm', tokens used, requests used}`.
 */
export const ADMIT = lua(`
local tk, tpm, rpm, ttl = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
if tpm > 0 and tk > tpm then return {0, -1, 'tpm', tok, req} end
local needTok, needReq = 0, 0
if tpm > 0 then needTok = tok + tk - tpm end
if rpm > 0 then needReq = req + 1 - rpm end
if needTok > 0 or needReq > 0 then
  local which = 'tpm'
  if needReq > 0 then which = 'rpm' end
  local at = now
  local items = redis.call('ZRANGEBYSCORE', log, '(' .. (now - W), '+inf', 'WITHSCORES')
  for i = 1, #items, 2 do
    if needTok <= 0 and needReq <= 0 then break end
    local a, b = parse(items[i])
    needTok, needReq = needTok - a, needReq - b
    at = tonumber(items[i + 1]) + W
  end
  return {0, math.max(1, at - now), which, tok, req}
end
add(now, tk, 1)
touch(ttl)
local oldest = redis.call('ZRANGE', log, 0, 0, 'WITHSCORES')
return {1, tonumber(oldest[2]) + W - now, tok + tk, req + 1}
`);
