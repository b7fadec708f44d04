-- The session's epoch and seq, and the log entries after position `since` (newest first),
-- read together so a reconnecting client gets exactly what it missed.
local meta_key, log_key = KEYS[1], KEYS[2]
local since = tonumber(ARGV[1])

local m = redis.call('HMGET', meta_key, 'epoch', 'seq')
if not m[1] then return {false, 0, {}} end
local seq = tonumber(m[2])
local wanted = seq - since
if wanted <= 0 then return {m[1], seq, {}} end
return {m[1], seq, redis.call('LRANGE', log_key, 0, wanted - 1)}
