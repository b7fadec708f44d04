-- Counts scans of one session at the door and publishes the new counters.
-- KEYS: counters hash, entries-rate zset. ARGV: now_ms, window_ms, channel, door-rate key
-- prefix, entries JSON and exits JSON (published as is), then triples (door, outcome,
-- member) where outcome is 'entered', 'exited' or a refusal reason. inside = entered -
-- exited. Door rate keys (entries only) are built here, under the same hash tag as KEYS
-- (same slot).
local cnt_key, rate_key = KEYS[1], KEYS[2]
local now, window, channel, door_prefix, entries, exits =
  tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local FIRST = 7

if redis.call('EXISTS', cnt_key) == 0 then return {'not_loaded'} end
local doors = {}
for i = FIRST, #ARGV, 3 do
  local door, outcome, member = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  doors[door] = true
  if outcome == 'entered' then
    redis.call('HINCRBY', cnt_key, 'entered', 1)
    redis.call('HINCRBY', cnt_key, 'inside', 1)
    redis.call('HINCRBY', cnt_key, 'door:' .. door .. ':entered', 1)
    redis.call('ZADD', rate_key, now, member)
    redis.call('ZADD', door_prefix .. door, now, member)
  elseif string.sub(outcome, 1, 6) == 'moved:' then
    -- an uploaded earlier scan took the entry over: it counts at this door, not the other
    redis.call('HINCRBY', cnt_key, 'door:' .. string.sub(outcome, 7) .. ':entered', -1)
    redis.call('HINCRBY', cnt_key, 'door:' .. door .. ':entered', 1)
  elseif outcome == 'exited' then
    redis.call('HINCRBY', cnt_key, 'exited', 1)
    redis.call('HINCRBY', cnt_key, 'inside', -1)
    redis.call('HINCRBY', cnt_key, 'door:' .. door .. ':exited', 1)
  else
    redis.call('HINCRBY', cnt_key, 'refused', 1)
    redis.call('HINCRBY', cnt_key, 'refused:' .. outcome, 1)
    redis.call('HINCRBY', cnt_key, 'door:' .. door .. ':refused', 1)
  end
end
redis.call('ZREMRANGEBYSCORE', rate_key, '-inf', now - window)
local door_rates = {}
for door, _ in pairs(doors) do
  local key = door_prefix .. door
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  door_rates[door] = redis.call('ZCARD', key)
end
local flat = redis.call('HGETALL', cnt_key)
local counters = {}
for i = 1, #flat, 2 do counters[flat[i]] = tonumber(flat[i + 1]) end
local payload = '{"counters":' .. cjson.encode(counters) .. ',"rate":' .. redis.call('ZCARD', rate_key)
  .. ',"door_rates":' .. (next(door_rates) and cjson.encode(door_rates) or '{}')
  .. ',"entries":' .. entries .. ',"exits":' .. exits .. '}'
redis.call('SPUBLISH', channel, payload)
return {'ok'}
