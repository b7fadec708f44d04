-- A general-admission session's new capacity (the organiser changed it): the gauge follows
-- and the holds stay. Absolute, and applied only if newer than the last one applied (a late
-- repair of an older change never undoes a newer one). Not loaded: nothing to do, the
-- rebuild reads Postgres.
local meta_key, log_key = KEYS[1], KEYS[2]
local loglen, channel, capacity, outbox_id = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), ARGV[4]

if redis.call('EXISTS', meta_key) == 0 then return {'ok', 0} end
local applied = tonumber(redis.call('HGET', meta_key, 'cap_entry') or '0')
if tonumber(outbox_id) <= applied then
  return {'ok', tonumber(redis.call('HGET', meta_key, 'seq'))}
end
redis.call('HSET', meta_key, 'cap', capacity, 'cap_entry', outbox_id)
return {'ok', publish_change(meta_key, log_key, channel, loglen, {})}
