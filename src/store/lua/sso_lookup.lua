-- One round trip for Huawei's AuthnRequest (sso-bridge, src/store/redis.rs): read the session,
-- keep it only when it is live for the request's site, record the request ID as used (SET NX),
-- restart the session's idle timer, and when the session may answer without asking
-- (Session::answers_silently in src/store/types.rs: confirmed, and sent to Huawei by the bridge
-- within the jump window) record the pending bind jump of the assertion about to be issued.
-- A request that will be parked (no session, or the customer must confirm first) takes a slot in
-- the parked-request index, a sorted set scored by expiry; when the index is full nothing is
-- written at all ('full'), so a flood of validly signed requests cannot grow the store past the
-- cap. A passive request without a session records nothing.
-- KEYS: 1 session key, 2 request-id key, 3 bind-jump key of the session, 4 parked index (zset)
-- ARGV: 1 idle TTL, 2 replay TTL, 3 '1' = passive, 4 '1' = look the session up, 5 site,
--       6 now (unix s), 7 jump window (s), 8 bind window (s), 9 most parked requests,
--       10 parked-request TTL (s)
-- Returns {session JSON or '', 'first' | 'seen' | 'not_recorded' | 'full', '1' = silent | '0'}
local now = tonumber(ARGV[6])
local raw, session = false, nil
if ARGV[4] == '1' then
  raw = redis.call('GET', KEYS[1])
  if raw then
    local ok, s = pcall(cjson.decode, raw)
    if ok and type(s) == 'table' and s.s == ARGV[5] and tonumber(s.x) and tonumber(s.x) > now then
      session = s
    else
      raw = false
    end
  end
end
local passive = ARGV[3] == '1'
if (not raw) and passive then
  return {'', 'not_recorded', '0'}
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  return {raw or '', 'seen', '0'}
end
local silent = false
if raw then
  local jumped = tonumber(session.j)
  silent = session.k ~= true and jumped ~= nil and now - jumped <= tonumber(ARGV[7])
end
if not silent and not passive then
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
  if redis.call('ZCARD', KEYS[4]) >= tonumber(ARGV[9]) then
    return {raw or '', 'full', '0'}
  end
  redis.call('ZADD', KEYS[4], now + tonumber(ARGV[10]), KEYS[2])
  redis.call('EXPIRE', KEYS[4], ARGV[10])
end
redis.call('SET', KEYS[2], '1', 'EX', ARGV[2])
if not raw then
  return {'', 'first', '0'}
end
-- Only an accepted request restarts the session's idle timer.
redis.call('EXPIRE', KEYS[1], ARGV[1])
if silent then
  redis.call('SET', KEYS[3], ARGV[5], 'EX', ARGV[8])
  return {raw, 'first', '1'}
end
return {raw, 'first', '0'}
