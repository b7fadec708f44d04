-- Loads a session's door counters rebuilt from Postgres, unless they exist already.
-- KEYS: counters hash, entries-rate zset. ARGV: door-rate key prefix, n_pairs, field/value
-- pairs, then (door, at_ms, member) triples of the entries of the last window.
local cnt_key, rate_key = KEYS[1], KEYS[2]
local door_prefix, n_pairs = ARGV[1], tonumber(ARGV[2])
local FIRST = 3

if redis.call('EXISTS', cnt_key) == 1 then return {'exists'} end
redis.call('HSET', cnt_key, 'loaded', 1)
for i = FIRST, FIRST + 2 * n_pairs - 1, 2 do
  redis.call('HSET', cnt_key, ARGV[i], ARGV[i + 1])
end
redis.call('DEL', rate_key)
for i = FIRST + 2 * n_pairs, #ARGV, 3 do
  redis.call('ZADD', rate_key, ARGV[i + 1], ARGV[i + 2])
  redis.call('ZADD', door_prefix .. ARGV[i], ARGV[i + 1], ARGV[i + 2])
end
return {'loaded'}
