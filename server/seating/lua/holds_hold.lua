-- Holds seats (all or nothing) and/or general-admission places under a hold token
-- (hold_seats in _prelude.lua).
local token, ttl, cap_ms, loglen, channel, quantity, create, checked =
  ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6]),
  ARGV[7] == '1', ARGV[8] == '1'
local seats = {}
for i = 9, #ARGV do seats[#seats + 1] = ARGV[i] end
return hold_seats(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6],
                  token, ttl, cap_ms, loglen, channel, quantity, create, seats, checked)
