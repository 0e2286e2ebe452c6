-- Idempotent enqueue of a batch. ARGV[4] = n, then per job 6 values:
-- id, type, account, user_name, max_attempts, canonical job JSON.
-- Returns a flat array: per job {1, entry id} when created, {0, existing status} otherwise.
local n = tonumber(ARGV[4])
local out = {}
local i = 5
for _ = 1, n do
  local id, typ, acct, user, maxa, json =
      ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5]
  i = i + 6
  local k = jobkey(id)
  local existing = redis.call('HGET', k, 'status')
  if existing then
    out[#out + 1] = 0
    out[#out + 1] = existing
  else
    local entry = redis.call('XADD', K_JOBS, '*', 'id', id, 'job', json)
    redis.call('HSET', k, 'id', id, 'type', typ, 'account', acct, 'user_name', user,
               'max_attempts', maxa, 'job', json, 'status', 'queued', 'attempts', '0',
               'entry', entry, 'source', 'enqueue', 'created_at', NOW_S, 'updated_at', NOW_S)
    move_count(nil, 'queued')
    event('queued', id, 'queued', {'entry', entry})
    out[#out + 1] = 1
    out[#out + 1] = entry
  end
end
return out
