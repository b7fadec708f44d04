-- Holds seats (all or nothing) and/or general-admission places under a hold token.
local meta_key, seats_key, log_key, exp_key, tok_key, toks_key =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local token, ttl, cap_ms, loglen, channel, quantity, create =
  ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6]),
  ARGV[7] == '1'
local FIRST_SEAT = 8
local ORPHAN_GRACE_MS = 300000

if redis.call('EXISTS', meta_key) == 0 then return {'not_loaded'} end
local now = now_ms()
local epoch = redis.call('HGET', meta_key, 'epoch')
local t = redis.call('HMGET', tok_key, 'exp', 'epoch')
local expires = tonumber(t[1])
if expires and t[2] ~= epoch then
  -- a hold of the mirror before a rebuild (plan change): its seats are gone with it
  redis.call('DEL', tok_key, toks_key)
  redis.call('ZREM', exp_key, token)
  expires = nil
end
local is_new = expires == nil
if is_new and not create then
  return {'unknown'}  -- a token the client names must be a live hold (it may have expired)
end
if is_new then
  local cap = now + math.max(cap_ms, ttl)
  expires = math.min(now + ttl, cap)
elseif expires <= now then
  return {'expired'}
end

local mine = 'h' .. token
local taken, fresh = {}, {}
for i = FIRST_SEAT, #ARGV do
  local v = redis.call('HGET', seats_key, ARGV[i])
  if not v then
    fresh[#fresh + 1] = ARGV[i]
  elseif v ~= mine then
    taken[#taken + 1] = tonumber(ARGV[i])
  end
end
if #taken > 0 then return {'taken', taken} end
if quantity > 0 then
  local m = redis.call('HMGET', meta_key, 'cap', 'sold', 'held')
  local available = tonumber(m[1]) - tonumber(m[2]) - tonumber(m[3])
  if quantity > available then return {'full', math.max(available, 0)} end
end

if is_new then
  local cap = now + math.max(cap_ms, ttl)
  redis.call('HSET', tok_key, 'created', now, 'exp', expires, 'cap', cap, 'ga', 0, 'epoch', epoch)
  redis.call('ZADD', exp_key, expires, token)
  -- A safety net: the sweeper deletes tokens, but a token orphaned by a rebuild of the
  -- session's mirror must not live forever.
  redis.call('PEXPIREAT', tok_key, cap + ORPHAN_GRACE_MS)
end
local changes = {}
for _, idx in ipairs(fresh) do
  redis.call('HSET', seats_key, idx, mine)
  redis.call('SADD', toks_key, idx)
  changes[#changes + 1] = {tonumber(idx), 1}
end
if #fresh > 0 then
  redis.call('PEXPIREAT', toks_key, tonumber(redis.call('HGET', tok_key, 'cap')) + ORPHAN_GRACE_MS)
end
if quantity > 0 then redis.call('HINCRBY', tok_key, 'ga', quantity) end
local added = #fresh + quantity
local seq
if added > 0 then
  redis.call('HINCRBY', meta_key, 'held', added)
  seq = publish_change(meta_key, log_key, channel, loglen, changes)
else
  seq = tonumber(redis.call('HGET', meta_key, 'seq'))
end
return {'ok', seq, expires}
