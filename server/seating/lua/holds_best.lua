-- Best available: chooses N seats from the ranked candidates (seatmap/best.py) against the
-- live seat states and holds them, in one step. KEYS: the six of holds_hold, then the
-- candidate windows and singles (little-endian int32 records, read a chunk at a time).
-- Replies {'ok', seq, expires, seats} as holds_hold plus the seats, {'none'} when fewer
-- than N fit, {'stale'} when the candidates were made for another epoch, {'nocand'} when
-- they are missing (the caller stores them and runs this again).
--
-- The walk starts at the first window that was wholly free last time (KEYS[9] holds its
-- record number and the mirror's `freed` count then): every window before it had a taken
-- seat, and still has, unless a seat was freed since (`freed` moved on: walk from the top).
-- So a hall filling up costs each request a few windows, not all those already taken.
local windows_key, singles_key, from_key = KEYS[7], KEYS[8], KEYS[9]
local token, ttl, cap_ms, loglen, channel, create, n, epoch =
  ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5], ARGV[6] == '1',
  tonumber(ARGV[7]), ARGV[8]
local meta_key, seats_key = KEYS[1], KEYS[2]
local CHUNK_RECORDS = 256
local WHOLE_MAP_AFTER = 2000  -- past this many taken seats, one HGETALL beats many HGETs

if redis.call('EXISTS', meta_key) == 0 then return {'not_loaded'} end
if redis.call('HGET', meta_key, 'epoch') ~= epoch then return {'stale'} end
if redis.call('EXISTS', windows_key) == 0 or redis.call('EXISTS', singles_key) == 0 then
  return {'nocand'}
end

local freed = redis.call('HGET', meta_key, 'freed') or '0'
local from = redis.call('HMGET', from_key, 'record', 'freed')
local start = 0
if from[2] == freed then start = tonumber(from[1]) end

local states, whole = {}, start == 0 and redis.call('HLEN', seats_key) > WHOLE_MAP_AFTER
if whole then
  local flat = redis.call('HGETALL', seats_key)
  for i = 1, #flat, 2 do states[flat[i]] = flat[i + 1] end
end
local function free(i)
  if i < 0 then return false end
  local k = tostring(i)
  local v = states[k]
  if v == nil and not whole then
    v = redis.call('HGET', seats_key, k) or false
    states[k] = v
  end
  return not v
end
local function orphan(near, far)
  return near >= 0 and free(near) and (far < 0 or not free(far))
end

-- Walks a key of int32 records, `size` ints each, from record `first` (0-based), calling
-- visit(values, record) until it returns true.
local function walk(key, size, first, visit)
  local fmt, bytes = '<' .. string.rep('i4', size), size * 4
  local total, pos = redis.call('STRLEN', key), first * bytes
  local record = first
  while pos < total do
    local blob = redis.call('GETRANGE', key, pos, pos + CHUNK_RECORDS * bytes - 1)
    local at = 1
    while at + bytes - 1 <= #blob do
      local values = {struct.unpack(fmt, blob, at)}
      at = values[size + 1]
      if visit(values, record) then return end
      record = record + 1
    end
    pos = pos + #blob
  end
end

local chosen, first_open, first_open_record = nil, nil, nil
walk(windows_key, n + 4, start, function(v, record)
  for j = 1, n do
    if not free(v[j]) then return false end
  end
  local seats = {}
  for j = 1, n do seats[j] = v[j] end
  if not first_open then first_open, first_open_record = seats, record end
  if not (orphan(v[n + 1], v[n + 2]) or orphan(v[n + 3], v[n + 4])) then
    chosen = seats
    return true
  end
  return false
end)
-- Everything before the first wholly free window is taken: the next walk starts there.
local walked_all = math.floor(redis.call('STRLEN', windows_key) / ((n + 4) * 4))
redis.call('HSET', from_key, 'record', first_open_record or walked_all, 'freed', freed)
redis.call('PEXPIRE', from_key, 3600000)
chosen = chosen or first_open
if not chosen then
  local picked = {}
  walk(singles_key, 1, 0, function(v)
    if free(v[1]) then picked[#picked + 1] = v[1] end
    return #picked == n
  end)
  if #picked == n then chosen = picked end
end
if not chosen then return {'none'} end

local reply = hold_seats(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6],
                         token, ttl, cap_ms, loglen, channel, 0, create, chosen, true)
if reply[1] == 'ok' then reply[4] = chosen end
return reply
