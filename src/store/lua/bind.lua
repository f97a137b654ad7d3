-- Create or replace a mapping, atomically with the reverse index, the listing index and the
-- event log (sso-bridge, src/store/redis.rs).
-- KEYS: 1 mappings hash, 2 reverse hash (domain_id -> x_user_id), 3 listing zset, 4 event stream,
--       5 bind-jump key of the session that authorises a notification, 6 that session's key
--       (both ignored unless ARGV[9])
-- ARGV: 1 x_user_id, 2 domain_id, 3 new mapping JSON, 4 now (unix s), 5 site, 6 actor,
--       7 stream max length, 8 source of this change, 9 '1' = the change needs the pending bind
--       jump of a live session (the jump must hold the site); it is consumed only when the
--       mapping is written or already says the same, so a refused notification (conflict)
--       does not use up the jump the real one needs
-- Returns {'no_jump'} | {'conflict', owner} | {'unchanged', json} | {'bound'|'updated', json, event id}
local jumped = ARGV[9] == '1'
if jumped and (redis.call('GET', KEYS[5]) ~= ARGV[5] or redis.call('EXISTS', KEYS[6]) == 0) then
  return {'no_jump'}
end
local uid, did = ARGV[1], ARGV[2]
local owner = redis.call('HGET', KEYS[2], did)
if owner and owner ~= uid then
  return {'conflict', owner}
end
if jumped then
  redis.call('DEL', KEYS[5])
end
local new = cjson.decode(ARGV[3])
local kind = 'bound'
local old_raw = redis.call('HGET', KEYS[1], uid)
if old_raw then
  local old = cjson.decode(old_raw)
  if old.domain_id == new.domain_id and old.domain_name == new.domain_name
      and old.user_id == new.user_id and old.user_name == new.user_name then
    return {'unchanged', old_raw}
  end
  kind = 'updated'
  new.created_at = old.created_at
  new.source = old.source
  if old.domain_id ~= did and redis.call('HGET', KEYS[2], old.domain_id) == uid then
    redis.call('HDEL', KEYS[2], old.domain_id)
  end
end
local raw = cjson.encode(new)
redis.call('HSET', KEYS[1], uid, raw)
redis.call('HSET', KEYS[2], did, uid)
redis.call('ZADD', KEYS[3], 0, uid)
local name = new.domain_name
if name == cjson.null or name == nil then name = '' end
local id = redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[7], '*',
  'kind', kind, 'site', ARGV[5], 'x_user_id', uid, 'domain_id', did, 'domain_name', name,
  'source', ARGV[8], 'actor', ARGV[6], 'at', ARGV[4])
return {kind, raw, id}
