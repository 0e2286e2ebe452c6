-- Routes intake entries (<ns>:jobs, read without the consumer group) into lanes, the delayed
-- set (not_before in the future) or the dead letters, each move atomic with the XDEL of its
-- entry. Entries already gone (another worker routed them) or claimed are left alone, so any
-- number of workers may route the same entries. ARGV[4] n, then n groups of 12 values:
-- entry, kind ('job' | 'parent' | 'invalid' | 'reject'), id, JSON (canonical, or the raw text
-- when invalid), error (invalid/reject), type, account, user_name, max_attempts, priority,
-- not_before (ms, 0 = none), children (parent: a JSON list of [id, account, JSON, type,
-- user_name, max_attempts, priority, not_before]; else '').
-- A fan-out parent is never run: its record says where = 'children' and it waits, status
-- running, for its children (created here, each routed like a job, with field `parent`);
-- common.lua's child_hook ends it when the last child ends.
-- Returns n words: routed | scheduled | duplicate | finished | dead | gone.
local n = tonumber(ARGV[4])
local out = {}

-- A job whose record exists (status given) into the delayed set (not_before) or its lane.
local function place(id, status, acct, prio, nb)
  local k = jobkey(id)
  if nb > NOW then
    local due = string.format('%d', nb)
    redis.call('ZADD', K_DELAYED, due, id)
    redis.call('HSET', k, 'where', 'scheduled', 'entry', '', 'not_before', due,
               'priority', prio, 'updated_at', NOW_S)
    event('scheduled', id, status, {'due', due})
    return 'scheduled'
  end
  redis.call('HSET', k, 'priority', prio, 'updated_at', NOW_S)
  local lk = to_lane(id, acct, prio, false)
  event('routed', id, status, {'lane', lk})
  return 'routed'
end

-- The children of a fan-out parent: each created once (id <parent>/<account>), then placed.
local function make_children(parent, list)
  local ids = {}
  for _, c in ipairs(list) do
    local cid, cacct, cjson, ctyp, cuser, cmaxa, cprio = c[1], c[2], c[3], c[4], c[5], c[6], c[7]
    local cnb = tonumber(c[8]) or 0
    ids[#ids + 1] = cid
    local ck = jobkey(cid)
    if redis.call('EXISTS', ck) == 0 then
      redis.call('HSET', ck, 'id', cid, 'type', ctyp, 'account', cacct, 'user_name', cuser,
                 'max_attempts', cmaxa, 'priority', cprio, 'job', cjson, 'status', 'queued',
                 'attempts', '0', 'entry', '', 'source', 'fan-out', 'parent', parent,
                 'created_at', NOW_S, 'updated_at', NOW_S)
      move_count(nil, 'queued')
      event('queued', cid, 'queued', {'parent', parent, 'source', 'fan-out'})
      place(cid, 'queued', cacct, cprio, cnb)
    end
    redis.call('HSETNX', jobkey(parent) .. ':children', cid,
               redis.call('HGET', ck, 'status') or 'queued')
  end
  return ids
end

for j = 0, n - 1 do
  local b = 5 + 12 * j
  local entry, kind, id, json, err = ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], ARGV[b + 4]
  local typ, acct, user, maxa = ARGV[b + 5], ARGV[b + 6], ARGV[b + 7], ARGV[b + 8]
  local prio, nb, children = ARGV[b + 9], tonumber(ARGV[b + 10]) or 0, ARGV[b + 11]
  local word
  if #redis.call('XRANGE', K_JOBS, entry, entry) == 0 or owner_of(entry) then
    word = 'gone'
  elseif kind == 'invalid' then
    local dead = redis.call('XADD', K_DEAD, '*', 'id', id, 'job', json, 'reason', 'invalid',
                            'error', err, 'entry', entry, 'attempts', '0', 'at', NOW_S)
    if id ~= '' and redis.call('EXISTS', jobkey(id)) == 0 then
      redis.call('HSET', jobkey(id), 'id', id, 'job', json, 'status', 'dead', 'reason', 'invalid',
                 'error', err, 'attempts', '0', 'entry', entry, 'dead_entry', dead, 'source', 'xadd',
                 'where', 'done', 'created_at', NOW_S, 'updated_at', NOW_S, 'finished_at', NOW_S)
    end
    redis.call('XDEL', K_JOBS, entry)
    event('dead', id, 'dead', {'reason', 'invalid', 'error', err})
    word = 'dead'
  else
    local k = jobkey(id)
    local rec = redis.call('HMGET', k, 'status', 'entry')
    if rec[1] and rec[2] ~= entry then
      -- Another entry carries this id (a second XADD of the same job): never run it twice.
      redis.call('XDEL', K_JOBS, entry)
      event('duplicate', id, rec[1], {'entry', entry})
      word = 'duplicate'
    elseif rec[1] and is_terminal(rec[1]) then
      redis.call('XDEL', K_JOBS, entry)
      event('stale', id, rec[1], {'entry', entry})
      word = 'finished'
    else
      local status = rec[1]
      if not status then
        -- First sight of a job written by a plain XADD: create its record now.
        redis.call('HSET', k, 'id', id, 'type', typ, 'account', acct, 'user_name', user,
                   'max_attempts', maxa, 'priority', prio, 'job', json, 'status', 'queued',
                   'attempts', '0', 'entry', entry, 'source', 'xadd', 'created_at', NOW_S,
                   'updated_at', NOW_S)
        move_count(nil, 'queued')
        event('queued', id, 'queued', {'entry', entry, 'source', 'xadd'})
        status = 'queued'
      end
      -- The entry is deleted last: a write refused on the way (OOM) leaves it in the intake.
      if kind == 'reject' then
        local dead = redis.call('XADD', K_DEAD, '*', 'id', id, 'job', json, 'reason', err,
                                'error', err, 'entry', entry, 'attempts', '0', 'at', NOW_S)
        redis.call('HSET', k, 'status', 'dead', 'reason', err, 'error', err, 'dead_entry', dead,
                   'where', 'done', 'entry', '', 'finished_at', NOW_S, 'updated_at', NOW_S)
        move_count(status, 'dead')
        event('dead', id, 'dead', {'reason', err, 'error', err})
        word = 'dead'
      elseif kind == 'parent' then
        local ids = make_children(id, cjson.decode(children))
        redis.call('HSET', k, 'status', 'running', 'where', 'children', 'entry', '',
                   'children', cjson.encode(ids), 'children_total', tostring(#ids),
                   'started_at', NOW_S, 'updated_at', NOW_S)
        move_count(status, 'running')
        event('running', id, 'running', {'children', tostring(#ids)})
        child_check(id)  -- children that had ended already (a parent routed again)
        word = 'routed'
      else
        word = place(id, status, acct, prio, nb)
      end
      redis.call('XDEL', K_JOBS, entry)
    end
  end
  out[#out + 1] = word
end
return out
