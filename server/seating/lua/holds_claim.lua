-- Checks that a live hold token holds the given seats and places before an order is
-- committed, and keeps it alive for a grace period so the sweeper cannot release it.
local seats_key, exp_key, tok_key = KEYS[1], KEYS[2], KEYS[3]
local token, grace, quantity = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local FIRST_SEAT = 4

local now = now_ms()
local m = redis.call('HMGET', tok_key, 'exp', 'ga')
local expires, ga = tonumber(m[1]), tonumber(m[2]) or 0
if not expires then return {'unknown_token'} end
if expires <= now then return {'expired'} end
local mine = 'h' .. token
local missing = {}
for i = FIRST_SEAT, #ARGV do
  if redis.call('HGET', seats_key, ARGV[i]) ~= mine then missing[#missing + 1] = tonumber(ARGV[i]) end
end
if #missing > 0 then return {'not_held', missing} end
if quantity > ga then return {'not_held_places', ga} end
local new_expiry = math.max(expires, now + grace)
redis.call('HSET', tok_key, 'exp', new_expiry)
redis.call('ZADD', exp_key, new_expiry, token)
return {'ok', new_expiry}
