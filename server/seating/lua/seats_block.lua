-- Blocks free seats or unblocks blocked ones (organiser's action); the capacity follows.
local meta_key, seats_key, log_key = KEYS[1], KEYS[2], KEYS[3]
local loglen, channel, block, outbox_id = tonumber(ARGV[1]), ARGV[2], ARGV[3] == '1', ARGV[4]
local FIRST_SEAT = 5

if redis.call('EXISTS', meta_key) == 0 then return {'not_loaded'} end
if redis.call('EXISTS', string.sub(meta_key, 1, -5) .. 'ob:' .. outbox_id) == 1 then
  return {'ok', tonumber(redis.call('HGET', meta_key, 'seq'))}
end
local refused = {}
if block then
  for i = FIRST_SEAT, #ARGV do
    local v = redis.call('HGET', seats_key, ARGV[i])
    if v and v ~= 'b' then refused[#refused + 1] = tonumber(ARGV[i]) end
  end
  if #refused > 0 then return {'taken', refused} end
end
first_apply(meta_key, outbox_id)
local changes = {}
for i = FIRST_SEAT, #ARGV do
  local v = redis.call('HGET', seats_key, ARGV[i])
  if block and not v then
    redis.call('HSET', seats_key, ARGV[i], 'b')
    changes[#changes + 1] = {tonumber(ARGV[i]), 3}
  elseif not block and v == 'b' then
    redis.call('HDEL', seats_key, ARGV[i])
    redis.call('HINCRBY', meta_key, 'freed', 1)  -- best available rescans
    changes[#changes + 1] = {tonumber(ARGV[i]), 0}
  end
end
local seq = tonumber(redis.call('HGET', meta_key, 'seq'))
if #changes > 0 then
  local delta = #changes
  if block then delta = -delta end
  redis.call('HINCRBY', meta_key, 'cap', delta)
  seq = publish_change(meta_key, log_key, channel, loglen, changes)
end
return {'ok', seq}
