-- One round trip for Huawei's AuthnRequest: read the session and record the request ID as used
-- (SET NX); restart the session's idle timer only when the ID was new. A passive request
-- without a session records nothing.
-- KEYS: 1 session key, 2 request-id key
-- ARGV: 1 idle TTL, 2 replay TTL, 3 '1' = passive, 4 '1' = look the session up
-- Returns {session JSON or '', 'first' | 'seen' | 'not_recorded'}
local session = false
if ARGV[4] == '1' then
  session = redis.call('GET', KEYS[1])
end
if (not session) and ARGV[3] == '1' then
  return {'', 'not_recorded'}
end
local first = redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[2])
if not first then
  return {session or '', 'seen'}
end
-- Only an accepted request restarts the session's idle timer.
if session then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return {session or '', 'first'}
