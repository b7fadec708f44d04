-- Ends a claim whose order was not committed (refused or failed), so the hold's next order
-- may go on at once. Only the claim's own order ends it.
local tok_key = KEYS[1]
local owner = ARGV[1]

if redis.call('HGET', tok_key, 'claim') == owner then
  redis.call('HDEL', tok_key, 'claim', 'claim_until')
end
return {'ok'}
