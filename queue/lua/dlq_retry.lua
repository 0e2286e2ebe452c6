-- Puts dead letters back into the stream. ARGV[4] job id ('' = all, in batches), [5] cursor
-- (dead entry id to continue after, all mode), [6] batch size.
-- Returns {retried, skipped_invalid, next_cursor ('' when done)}; retried = -1: id not found.
local want, cursor, batch = ARGV[4], ARGV[5], tonumber(ARGV[6])

local function retry(dead_id, f)
  local id, job = f['id'], f['job']
  local k = jobkey(id)
  local entry = redis.call('XADD', K_JOBS, '*', 'id', id, 'job', job)
  local old = redis.call('HGET', k, 'status')
  if old then
    redis.call('HSET', k, 'status', 'queued', 'attempts', '0', 'entry', entry, 'error', '',
               'last_error', '', 'consumer', '', 'where', 'intake', 'updated_at', NOW_S)
    redis.call('HDEL', k, 'checkpoint', 'dead_entry', 'reason', 'finished_at', 'next_attempt_at',
               'result', 'cancel', 'deliveries', 'reclaims', 'resumes', 'handbacks')
    redis.call('PERSIST', k)
    redis.call('PERSIST', stepskey(id))
    if old ~= 'dead' then move_count(old, nil) end
  else
    local ok, parsed = pcall(cjson.decode, job)
    local typ, acct, user, maxa = '', 'default', '', '0'
    if ok and type(parsed) == 'table' then
      typ = tostring(parsed['type'] or '')
      acct = tostring(parsed['account'] or 'default')
      if type(parsed['user_name']) == 'string' then user = parsed['user_name'] end
      if type(parsed['max_attempts']) == 'number' then maxa = tostring(parsed['max_attempts']) end
    end
    redis.call('HSET', k, 'id', id, 'type', typ, 'account', acct, 'user_name', user,
               'max_attempts', maxa, 'job', job, 'status', 'queued', 'attempts', '0',
               'entry', entry, 'source', 'dlq_retry', 'where', 'intake', 'created_at', NOW_S,
               'updated_at', NOW_S)
  end
  move_count(nil, 'queued')
  event('dlq_retry', id, 'queued', {'entry', entry})
  redis.call('XDEL', K_DEAD, dead_id)  -- last: a write refused on the way loses nothing
end

local function fields(e)
  local f = {}
  for i = 1, #e[2], 2 do f[e[2][i]] = e[2][i + 1] end
  return f
end

if want ~= '' then
  -- One job: through the record's pointer, else one bounded batch of the scan (the caller
  -- goes on from the returned cursor: a large DLQ never blocks Redis in one script).
  -- Either way a letter with reason `invalid` is refused, as in the --all path.
  local dead_id = redis.call('HGET', jobkey(want), 'dead_entry')
  if dead_id and cursor == '' then
    local e = redis.call('XRANGE', K_DEAD, dead_id, dead_id)
    if #e == 1 and fields(e[1])['id'] == want then
      local f = fields(e[1])
      if f['reason'] == 'invalid' then return {0, 1, ''} end
      retry(e[1][1], f)
      return {1, 0, ''}
    end
  end
  local start = cursor == '' and '-' or ('(' .. cursor)
  local es = redis.call('XRANGE', K_DEAD, start, '+', 'COUNT', batch)
  for _, e in ipairs(es) do
    local f = fields(e)
    if f['id'] == want then
      if f['reason'] == 'invalid' then return {0, 1, ''} end
      retry(e[1], f)
      return {1, 0, ''}
    end
  end
  if #es == batch then return {-2, 0, es[#es][1]} end
  return {-1, 0, ''}
end

local start = cursor == '' and '-' or ('(' .. cursor)
local es = redis.call('XRANGE', K_DEAD, start, '+', 'COUNT', batch)
local retried, skipped = 0, 0
for _, e in ipairs(es) do
  local f = fields(e)
  if f['reason'] == 'invalid' or (f['id'] or '') == '' then
    skipped = skipped + 1
  else
    retry(e[1], f)
    retried = retried + 1
  end
end
local next_cursor = ''
if #es == batch then next_cursor = es[#es][1] end
return {retried, skipped, next_cursor}
