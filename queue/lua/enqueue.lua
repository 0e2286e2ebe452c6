-- Idempotent enqueue of a batch. ARGV[4] = n, then per job 7 values:
-- id, type, account, user_name, max_attempts, canonical job JSON, priority.
-- The job enters the intake stream; a worker routes it into its lane (route.lua).
-- Returns a flat array: per job {1, entry id} when created, {0, existing status} otherwise.
-- Per job: HGET (an existing id returns the existing job; a duplicate id later in the same
-- batch sees the record created earlier), XADD <ns>:jobs, HSET of the record and one 'queued'
-- event. Per batch: one HINCRBY of the queued count and one XTRIM of the events stream.
-- The whole batch is one script, so every id is still created at most once when clients race.
local call = redis.call
local n = tonumber(ARGV[4])
local out = {}
local created = 0
local i = 5
for j = 1, n do
  local id = ARGV[i]
  local k = ns .. ':job:' .. id
  local existing = call('HGET', k, 'status')
  if existing then
    out[2 * j - 1] = 0
    out[2 * j] = existing
  else
    local json = ARGV[i + 5]
    local entry = call('XADD', K_JOBS, '*', 'id', id, 'job', json)
    call('HSET', k, 'id', id, 'type', ARGV[i + 1], 'account', ARGV[i + 2],
         'user_name', ARGV[i + 3], 'max_attempts', ARGV[i + 4], 'job', json,
         'status', 'queued', 'attempts', '0', 'entry', entry, 'source', 'enqueue',
         'priority', ARGV[i + 6], 'where', 'intake',
         'created_at', NOW_S, 'updated_at', NOW_S)
    -- The fields event() writes, without its table building.
    if consumer ~= '' then
      call('XADD', K_EVENTS, '*', 'event', 'queued', 'id', id, 'status', 'queued', 'at', NOW_S,
           'consumer', consumer, 'entry', entry)
    else
      call('XADD', K_EVENTS, '*', 'event', 'queued', 'id', id, 'status', 'queued', 'at', NOW_S,
           'entry', entry)
    end
    created = created + 1
    out[2 * j - 1] = 1
    out[2 * j] = entry
  end
  i = i + 7
end
if created > 0 then
  call('HINCRBY', K_COUNTS, 'queued', created)
  call('XTRIM', K_EVENTS, 'MAXLEN', '~', events_maxlen)
end
return out
