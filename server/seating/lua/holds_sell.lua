-- Marks seats and places sold after their order committed in Postgres; they leave the hold.
-- Applied once per outbox entry (ARGV[5]); seats held by another token become sold too
-- (the repair after a unique violation uses that). A blocked seat sold (overbooking at the
-- desk) joins the capacity, as the rebuild from Postgres counts it.
local meta_key, seats_key, log_key, exp_key, tok_key, toks_key =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local token, loglen, channel, quantity, outbox_id =
  ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4]), ARGV[5]
local FIRST_SEAT = 6

if redis.call('EXISTS', meta_key) == 0 then return {'not_loaded'} end
if not first_apply(meta_key, outbox_id) then
  return {'ok', tonumber(redis.call('HGET', meta_key, 'seq'))}
end
local changes, held_delta, sold_delta, cap_delta = {}, 0, 0, 0
for i = FIRST_SEAT, #ARGV do
  local idx = ARGV[i]
  local v = redis.call('HGET', seats_key, idx)
  if v ~= 's' then
    if v and string.sub(v, 1, 1) == 'h' then held_delta = held_delta + 1 end
    if v == 'b' then cap_delta = cap_delta + 1 end
    redis.call('HSET', seats_key, idx, 's')
    sold_delta = sold_delta + 1
    changes[#changes + 1] = {tonumber(idx), 2}
  end
  redis.call('SREM', toks_key, idx)
end
redis.call('HDEL', tok_key, 'claim', 'claim_until')  -- the claimed order is sold
if quantity > 0 then
  local ga = tonumber(redis.call('HGET', tok_key, 'ga')) or 0
  local from_hold = math.min(ga, quantity)
  if from_hold > 0 then redis.call('HINCRBY', tok_key, 'ga', -from_hold) end
  held_delta = held_delta + from_hold
  sold_delta = sold_delta + quantity
end
if redis.call('SCARD', toks_key) == 0 and (tonumber(redis.call('HGET', tok_key, 'ga')) or 0) == 0 then
  redis.call('DEL', tok_key, toks_key)
  redis.call('ZREM', exp_key, token)
end
if held_delta > 0 then redis.call('HINCRBY', meta_key, 'held', -held_delta) end
if cap_delta > 0 then redis.call('HINCRBY', meta_key, 'cap', cap_delta) end
local seq
if sold_delta > 0 then
  redis.call('HINCRBY', meta_key, 'sold', sold_delta)
  seq = publish_change(meta_key, log_key, channel, loglen, changes)
else
  seq = tonumber(redis.call('HGET', meta_key, 'seq'))
end
return {'ok', seq}
