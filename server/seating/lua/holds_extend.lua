-- Extends a hold token to now + ttl, never past its absolute cap, never shortening it.
local exp_key, tok_key = KEYS[1], KEYS[2]
local token, ttl = ARGV[1], tonumber(ARGV[2])

local now = now_ms()
local m = redis.call('HMGET', tok_key, 'exp', 'cap')
local expires, cap = tonumber(m[1]), tonumber(m[2])
if not expires then return {'unknown_token'} end
if expires <= now then return {'expired'} end
local new_expiry = math.min(math.max(expires, now + ttl), cap)
redis.call('HSET', tok_key, 'exp', new_expiry)
redis.call('ZADD', exp_key, new_expiry, token)
return {'ok', new_expiry, cap}
