-- Reverse lookup in one step. KEYS: 1 mappings hash, 2 reverse hash. ARGV: 1 domain_id.
-- Returns {x_user_id, mapping JSON} or nil.
local uid = redis.call('HGET', KEYS[2], ARGV[1])
if not uid then
  return nil
end
local raw = redis.call('HGET', KEYS[1], uid)
if not raw then
  return nil
end
return {uid, raw}
