-- Loads a session's seat mirror from Postgres facts when Redis does not have it,
-- under a new epoch. Does nothing when the session is already loaded.
local meta_key, seats_key, log_key, exp_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local epoch, cap, sold, n, channel = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
-- ARGV[6]: how many outbox entries follow, pending in the same Postgres snapshot as the
-- facts: their effect is in the facts, so they are marked applied.
local applied = tonumber(ARGV[6])
local FIRST_PAIR = 7 + applied
local CHUNK = 2000

if redis.call('EXISTS', meta_key) == 1 then
  return {'exists', redis.call('HGET', meta_key, 'epoch')}
end
redis.call('DEL', seats_key, log_key, exp_key)
for j = 7, 6 + applied do first_apply(meta_key, ARGV[j]) end
local i = FIRST_PAIR
while i <= #ARGV do
  local last = math.min(i + CHUNK - 1, #ARGV)
  redis.call('HSET', seats_key, unpack(ARGV, i, last))
  i = last + 1
end
redis.call('HSET', meta_key, 'epoch', epoch, 'seq', 0, 'cap', cap, 'sold', sold, 'held', 0, 'n', n)
redis.call('SPUBLISH', channel, cjson.encode({e = epoch, q = 0, c = {}, g = {cap, sold, 0}, r = 1}))
return {'loaded', epoch}
