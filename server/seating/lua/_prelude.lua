-- Shared helpers, prepended to every script of this folder when it is registered.
-- Every key of one session shares the hash tag {s:<id>}, so each script touches one slot.

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Bumps the session's sequence number, appends the change to the capped log and
-- publishes it. `changes` is a list of {seat_index, state_code}.
local function publish_change(meta_key, log_key, channel, loglen, changes)
  local seq = redis.call('HINCRBY', meta_key, 'seq', 1)
  local m = redis.call('HMGET', meta_key, 'epoch', 'cap', 'sold', 'held')
  local payload = cjson.encode({
    e = m[1], q = seq, c = changes,
    g = {tonumber(m[2]), tonumber(m[3]), tonumber(m[4])}
  })
  redis.call('LPUSH', log_key, payload)
  redis.call('LTRIM', log_key, 0, loglen - 1)
  redis.call('SPUBLISH', channel, payload)
  return seq
end

-- Whether an outbox entry (see server/seating/outbox.py) is applied here for the first time;
-- marks it applied for a day. Entry '0' is no entry (always applied).
local function first_apply(meta_key, outbox_id)
  if outbox_id == '0' then return true end
  local marker = string.sub(meta_key, 1, -5) .. 'ob:' .. outbox_id
  return redis.call('SET', marker, '1', 'NX', 'EX', 86400) ~= false
end

-- Holds seats (all or nothing) and/or general-admission places under a hold token: the
-- body of holds_hold.lua, shared with holds_best.lua (which chooses the seats first).
-- `seats` is a list of seat indices (strings or numbers). Returns the script's reply.
-- `checked` false skips the check that the seats are free (only a race test's control
-- does that: server/seating/live.py, failpoint `holds.atomic`).
local function hold_seats(meta_key, seats_key, log_key, exp_key, tok_key, toks_key,
                          token, ttl, cap_ms, loglen, channel, quantity, create, seats,
                          checked)
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
  for _, idx in ipairs(seats) do
    local v = redis.call('HGET', seats_key, idx)
    if not v or (v ~= mine and not checked) then
      fresh[#fresh + 1] = idx
    elseif v ~= mine then
      taken[#taken + 1] = tonumber(idx)
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
end
