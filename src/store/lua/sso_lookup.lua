-- One round trip for Huawei's AuthnRequest (sso-bridge, src/store/redis.rs): read the session,
-- keep it only when it is live for the request's site, record the request ID as used (SET NX),
-- restart the session's idle timer, and when the session may answer without asking
-- (Session::answers_silently in src/store/types.rs: confirmed, and sent to Huawei by the bridge
-- within the jump window) record the pending bind jump of the assertion about to be issued.
-- A passive request without a session records nothing.
-- KEYS: 1 session key, 2 request-id key, 3 bind-jump key of the session
-- ARGV: 1 idle TTL, 2 replay TTL, 3 '1' = passive, 4 '1' = look the session up, 5 site,
--       6 now (unix s), 7 jump window (s), 8 bind window (s)
-- Returns {session JSON or '', 'first' | 'seen' | 'not_recorded', '1' = silent | '0'}
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
if (not raw) and ARGV[3] == '1' then
  return {'', 'not_recorded', '0'}
end
if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[2]) then
  return {raw or '', 'seen', '0'}
end
if not raw then
  return {'', 'first', '0'}
end
-- Only an accepted request restarts the session's idle timer.
redis.call('EXPIRE', KEYS[1], ARGV[1])
local jumped = tonumber(session.j)
if session.k ~= true and jumped and now - jumped <= tonumber(ARGV[7]) then
  redis.call('SET', KEYS[3], ARGV[5], 'EX', ARGV[8])
  return {raw, 'first', '1'}
end
return {raw, 'first', '0'}
