-- Checks that a live hold token holds the given seats and places before an order is
-- committed, and keeps it alive for a grace period so the sweeper cannot release it.
-- One order of a hold at a time: the claim names its order (the idempotency key) until the
-- sale (holds_sell) or its failure (holds_unclaim) ends it, or the grace runs out; another
-- order of the same hold meanwhile is refused as 'busy' (it would count the same places).
local seats_key, exp_key, tok_key, meta_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local token, grace, quantity, owner = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local FIRST_SEAT = 5

local now = now_ms()
local m = redis.call('HMGET', tok_key, 'exp', 'ga', 'claim', 'claim_until', 'epoch')
local expires, ga = tonumber(m[1]), tonumber(m[2]) or 0
if not expires or m[5] ~= redis.call('HGET', meta_key, 'epoch') then
  return {'unknown_token'}  -- none, or a hold of the mirror before a rebuild
end
if expires <= now then return {'expired'} end
if m[3] and m[3] ~= owner and (tonumber(m[4]) or 0) > now then return {'busy'} end
local mine = 'h' .. token
local missing = {}
for i = FIRST_SEAT, #ARGV do
  if redis.call('HGET', seats_key, ARGV[i]) ~= mine then missing[#missing + 1] = tonumber(ARGV[i]) end
end
if #missing > 0 then return {'not_held', missing} end
if quantity > ga then return {'not_held_places', ga} end
local new_expiry = math.max(expires, now + grace)
redis.call('HSET', tok_key, 'exp', new_expiry, 'claim', owner, 'claim_until', now + grace)
redis.call('ZADD', exp_key, new_expiry, token)
return {'ok', new_expiry}
