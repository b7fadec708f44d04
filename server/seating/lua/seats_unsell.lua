-- Frees seats and places whose tickets were refunded or cancelled in Postgres (already
-- committed there). Seats not marked sold are left alone, so a retry changes nothing.
-- The first ARGV[5] seats are still blocked in Postgres (sold by overbooking): they go
-- back to blocked and leave the capacity, as the rebuild from Postgres counts them.
local meta_key, seats_key, log_key = KEYS[1], KEYS[2], KEYS[3]
local loglen, channel, places, outbox_id = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), ARGV[4]
local nblocked = tonumber(ARGV[5])
local FIRST_SEAT = 6

if redis.call('EXISTS', meta_key) == 0 then return {'not_loaded'} end
if not first_apply(meta_key, outbox_id) then
  return {'ok', tonumber(redis.call('HGET', meta_key, 'seq')), 0}
end
local changes, reblocked = {}, 0
for i = FIRST_SEAT, #ARGV do
  if redis.call('HGET', seats_key, ARGV[i]) == 's' then
    if i < FIRST_SEAT + nblocked then
      redis.call('HSET', seats_key, ARGV[i], 'b')
      reblocked = reblocked + 1
      changes[#changes + 1] = {tonumber(ARGV[i]), 3}
    else
      redis.call('HDEL', seats_key, ARGV[i])
      redis.call('HINCRBY', meta_key, 'freed', 1)  -- best available rescans
      changes[#changes + 1] = {tonumber(ARGV[i]), 0}
    end
  end
end
if reblocked > 0 then redis.call('HINCRBY', meta_key, 'cap', -reblocked) end
local freed = #changes + places
local seq = tonumber(redis.call('HGET', meta_key, 'seq'))
if freed > 0 then
  local sold = tonumber(redis.call('HGET', meta_key, 'sold')) or 0
  redis.call('HSET', meta_key, 'sold', math.max(sold - freed, 0))
  seq = publish_change(meta_key, log_key, channel, loglen, changes)
end
return {'ok', seq, #changes}
