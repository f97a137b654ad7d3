-- End every session of a user. KEYS: 1 the user's session set. ARGV: 1 session key prefix.
-- Returns the number of sessions that were live.
local digests = redis.call('SMEMBERS', KEYS[1])
local ended = 0
for _, d in ipairs(digests) do
  ended = ended + redis.call('DEL', ARGV[1] .. d)
end
redis.call('DEL', KEYS[1])
return ended
