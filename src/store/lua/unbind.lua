-- Remove a mapping, atomically with the reverse index, the listing index and the event log.
-- KEYS: 1 mappings hash, 2 reverse hash, 3 listing zset, 4 event stream, 5 bind-jump key of
--       the session that authorises a notification, 6 that session's key (both ignored unless
--       ARGV[8])
-- ARGV: 1 x_user_id, 2 expected domain_id ('' = any), 3 now, 4 site, 5 actor, 6 stream max
--       length, 7 source of this change, 8 '1' = the change needs the pending bind jump of a
--       live session (it must hold the site); consumed only when the mapping is removed
-- Returns {'no_jump'} | {'not_found'} | {'other_domain', json} | {'removed', json, event id}
local jumped = ARGV[8] == '1'
if jumped and (redis.call('GET', KEYS[5]) ~= ARGV[4] or redis.call('EXISTS', KEYS[6]) == 0) then
  return {'no_jump'}
end
local uid = ARGV[1]
local raw = redis.call('HGET', KEYS[1], uid)
if not raw then
  return {'not_found'}
end
local old = cjson.decode(raw)
if ARGV[2] ~= '' and old.domain_id ~= ARGV[2] then
  return {'other_domain', raw}
end
if jumped then
  redis.call('DEL', KEYS[5])
end
redis.call('HDEL', KEYS[1], uid)
if redis.call('HGET', KEYS[2], old.domain_id) == uid then
  redis.call('HDEL', KEYS[2], old.domain_id)
end
redis.call('ZREM', KEYS[3], uid)
local name = old.domain_name
if name == cjson.null or name == nil then name = '' end
local id = redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[6], '*',
  'kind', 'unbound', 'site', ARGV[4], 'x_user_id', uid, 'domain_id', old.domain_id,
  'domain_name', name, 'source', ARGV[7], 'actor', ARGV[5], 'at', ARGV[3])
return {'removed', raw, id}
