-- Store a new session with its SessionIndex record and the user's index (sso-bridge,
-- src/store/redis.rs). The index is a sorted set scored by absolute expiry: expired and ended
-- sessions leave it here, and beyond the cap the oldest sessions end, so it never outgrows
-- MAX_SESSIONS_PER_USER and ending a user's sessions is bounded work. Optionally records the
-- pending bind jump of an assertion answered right away.
-- KEYS: 1 session key, 2 session-index key, 3 user index (zset), 4 bind-jump key
-- ARGV: 1 session JSON, 2 idle TTL, 3 absolute TTL, 4 session digest, 5 now (unix s),
--       6 absolute expiry (unix s), 7 session key prefix, 8 most sessions per user,
--       9 bind-jump site ('' = none), 10 bind window (s)
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[5])
for _, d in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
  if redis.call('EXISTS', ARGV[7] .. d) == 0 then
    redis.call('ZREM', KEYS[3], d)
  end
end
-- Scores are absolute expiries; sessions created in the same second would tie and ZPOPMIN would
-- pick among them by name, so a new session scores just above the newest one: the cap always
-- ends the oldest, never the one being created.
local score = tonumber(ARGV[6])
local newest = redis.call('ZRANGE', KEYS[3], -1, -1, 'WITHSCORES')
if newest[2] and tonumber(newest[2]) >= score then
  score = tonumber(newest[2]) + 0.001
end
redis.call('ZADD', KEYS[3], score, ARGV[4])
redis.call('EXPIRE', KEYS[3], ARGV[3])
local extra = redis.call('ZCARD', KEYS[3]) - tonumber(ARGV[8])
if extra > 0 then
  local popped = redis.call('ZPOPMIN', KEYS[3], extra)
  for i = 1, #popped, 2 do
    redis.call('DEL', ARGV[7] .. popped[i])
  end
end
if ARGV[9] ~= '' then
  redis.call('SET', KEYS[4], ARGV[9], 'EX', ARGV[10])
end
return 1
