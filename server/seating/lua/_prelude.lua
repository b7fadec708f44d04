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
  redis.call('PUBLISH', channel, payload)
  return seq
end

-- Whether an outbox entry (see server/seating/outbox.py) is applied here for the first time;
-- marks it applied for a day. Entry '0' is no entry (always applied).
local function first_apply(meta_key, outbox_id)
  if outbox_id == '0' then return true end
  local marker = string.sub(meta_key, 1, -5) .. 'ob:' .. outbox_id
  return redis.call('SET', marker, '1', 'NX', 'EX', 86400) ~= false
end
