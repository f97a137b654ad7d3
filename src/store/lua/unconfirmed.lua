-- Append an 'unconfirmed' event for a verified bind-result notification that changed nothing,
-- once per dedupe key (sso-bridge, src/flow/bind_result.rs explains why the memory is kept).
-- KEYS: 1 dedupe key, 2 event stream
-- ARGV: 1 dedupe TTL, 2 stream max length, 3 site, 4 x_user_id, 5 domain_id, 6 domain_name,
--       7 source, 8 actor, 9 at, 10 action, 11 reason
-- Returns 1 when appended, 0 when the same notification was already recorded.
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  return 0
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*',
  'kind', 'unconfirmed', 'site', ARGV[3], 'x_user_id', ARGV[4], 'domain_id', ARGV[5],
  'domain_name', ARGV[6], 'source', ARGV[7], 'actor', ARGV[8], 'at', ARGV[9],
  'action', ARGV[10], 'reason', ARGV[11])
return 1
