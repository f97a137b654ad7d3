-- Replace a live session (the customer confirmed) and restart its idle timer; optionally record
-- the pending bind jump of the assertion now answered (sso-bridge, src/store/redis.rs).
-- KEYS: 1 session key, 2 bind-jump key
-- ARGV: 1 session JSON, 2 idle TTL, 3 bind-jump site ('' = none), 4 bind window (s)
-- Returns 1, or 0 when the session is gone (nothing written).
if not redis.call('SET', KEYS[1], ARGV[1], 'XX', 'EX', ARGV[2]) then
  return 0
end
if ARGV[3] ~= '' then
  redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[4])
end
return 1
