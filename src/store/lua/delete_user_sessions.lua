-- End every session of a user (sso-bridge, src/store/redis.rs). KEYS: 1 the user's index (a
-- sorted set, at most MAX_SESSIONS_PER_USER members). ARGV: 1 session key prefix.
-- Returns the number of sessions that were live.
local ended = 0
for _, d in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  ended = ended + redis.call('DEL', ARGV[1] .. d)
end
redis.call('DEL', KEYS[1])
return ended
