-- Releases every hold token of a session whose expiry has passed (the sweeper's step).
local meta_key, seats_key, log_key, exp_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local loglen, channel, prefix, limit = tonumber(ARGV[1]), ARGV[2], ARGV[3], tonumber(ARGV[4])

local now = now_ms()
local due = redis.call('ZRANGEBYSCORE', exp_key, '-inf', now, 'LIMIT', 0, limit)
if #due == 0 then return {0, 0} end
if redis.call('EXISTS', meta_key) == 0 then
  redis.call('ZREM', exp_key, unpack(due))
  return {#due, 0}
end
local changes, released = {}, 0
for _, token in ipairs(due) do
  local tok_key, toks_key = prefix .. 'tok:' .. token, prefix .. 'tok:' .. token .. ':seats'
  local mine = 'h' .. token
  for _, idx in ipairs(redis.call('SMEMBERS', toks_key)) do
    if redis.call('HGET', seats_key, idx) == mine then
      redis.call('HDEL', seats_key, idx)
      redis.call('HINCRBY', meta_key, 'freed', 1)  -- best available rescans
      changes[#changes + 1] = {tonumber(idx), 0}
      released = released + 1
    end
  end
  released = released + (tonumber(redis.call('HGET', tok_key, 'ga')) or 0)
  redis.call('DEL', tok_key, toks_key)
end
redis.call('ZREM', exp_key, unpack(due))
local seq = 0
if released > 0 then
  redis.call('HINCRBY', meta_key, 'held', -released)
  seq = publish_change(meta_key, log_key, channel, loglen, changes)
end
return {#due, seq}
