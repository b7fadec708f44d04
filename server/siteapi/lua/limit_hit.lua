-- Counts one request of a website's API key in its current fixed window.
-- KEYS: the key's counter. ARGV: window_ms.
-- The first request of a window creates the counter with the window as its expiry; every
-- process and server shares it, so the limit holds however many serve the API.
-- Returns {count in this window, milliseconds until the window ends}.
local counter = KEYS[1]
local window_ms = tonumber(ARGV[1])

local count = redis.call('INCR', counter)
local ttl = redis.call('PTTL', counter)
if ttl < 0 then
  redis.call('PEXPIRE', counter, window_ms)
  ttl = window_ms
end
return {count, ttl}
