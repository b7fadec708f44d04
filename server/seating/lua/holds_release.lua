-- Releases some or all seats and places of a hold token.
local meta_key, seats_key, log_key, exp_key, tok_key, toks_key =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local token, loglen, channel, release_all, quantity =
  ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4] == '1', tonumber(ARGV[5])
local FIRST_SEAT = 6

if redis.call('EXISTS', meta_key) == 0 then return {'not_loaded'} end
if redis.call('EXISTS', tok_key) == 0 then return {'unknown_token'} end
local mine = 'h' .. token
local candidates
if release_all then
  candidates = redis.call('SMEMBERS', toks_key)
else
  candidates = {}
  for i = FIRST_SEAT, #ARGV do candidates[#candidates + 1] = ARGV[i] end
end
local changes = {}
for _, idx in ipairs(candidates) do
  if redis.call('HGET', seats_key, idx) == mine then
    redis.call('HDEL', seats_key, idx)
    redis.call('HINCRBY', meta_key, 'freed', 1)  -- best available rescans
    changes[#changes + 1] = {tonumber(idx), 0}
  end
  redis.call('SREM', toks_key, idx)
end
local ga = tonumber(redis.call('HGET', tok_key, 'ga')) or 0
local ga_released = ga
if not release_all then ga_released = math.min(ga, quantity) end
if ga_released > 0 then redis.call('HINCRBY', tok_key, 'ga', -ga_released) end
if release_all then
  redis.call('DEL', tok_key, toks_key)
  redis.call('ZREM', exp_key, token)
end
local released = #changes + ga_released
local seq
if released > 0 then
  redis.call('HINCRBY', meta_key, 'held', -released)
  seq = publish_change(meta_key, log_key, channel, loglen, changes)
else
  seq = tonumber(redis.call('HGET', meta_key, 'seq'))
end
return {'ok', seq, #changes, ga_released}
