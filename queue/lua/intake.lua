-- Reads intake entries of <ns>:jobs after a cursor (XRANGE, exclusive) for routing, and refuses
-- every entry whose job text is larger than the limit here, inside Redis, so that no worker
-- ever reads, parses or stores one (issue 14: eight raw 8 MiB entries took a worker to
-- 369 MiB). An oversized entry is dead-lettered with the reason and without its text (a
-- prefix could hold secrets), and its record is created when its id is usable.
-- ARGV[4] cursor ('0-0' for the start), ARGV[5] count, ARGV[6] max job bytes.
-- Returns {next cursor, refused, {entry, field, value, ...}, ...}: the entries to route (the
-- claims of started jobs are skipped), and how many were refused.
local cursor, count, max_bytes = ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
local rows = redis.call('XRANGE', K_JOBS, '(' .. cursor, '+', 'COUNT', count)
local out = {cursor, 0}
local refused = 0
local function usable_id(s)
  return type(s) == 'string' and #s >= 1 and #s <= 128 and not string.find(s, '[^%w._:-]')
end
for _, row in ipairs(rows) do
  local entry, fields = row[1], row[2]
  out[1] = entry
  local f = {}
  for i = 1, #fields - 1, 2 do f[fields[i]] = fields[i + 1] end
  if f['claim'] then
    -- a started job's claim: not intake
  elseif f['job'] and #f['job'] > max_bytes then
    local id = usable_id(f['id']) and f['id'] or ('x-' .. entry)
    local err = 'job is ' .. #f['job'] .. ' bytes; the limit is ' .. max_bytes ..
                ' (refused in Redis; its text is not stored)'
    local notice = '<' .. #f['job'] .. ' bytes not stored>'
    local dead = redis.call('XADD', K_DEAD, '*', 'id', id, 'job', notice, 'reason', 'invalid',
                            'error', err, 'entry', entry, 'attempts', '0', 'at', NOW_S)
    if redis.call('EXISTS', jobkey(id)) == 0 then
      redis.call('HSET', jobkey(id), 'id', id, 'job', notice, 'status', 'dead', 'reason', 'invalid',
                 'error', err, 'attempts', '0', 'entry', entry, 'dead_entry', dead, 'source', 'xadd',
                 'where', 'done', 'created_at', NOW_S, 'updated_at', NOW_S, 'finished_at', NOW_S)
    end
    -- The entry is deleted last: a write refused on the way (OOM) leaves it in the intake.
    redis.call('XDEL', K_JOBS, entry)
    event('dead', id, 'dead', {'reason', 'invalid', 'error', err})
    refused = refused + 1
  else
    out[#out + 1] = row
  end
end
out[2] = refused
return out
