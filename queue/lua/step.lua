-- Appends a step to the step log and stores the resume checkpoint.
-- ARGV[4] id, [5] entry, [6] step JSON, [7] checkpoint JSON ('' keeps the old one).
local id, entry, step, checkpoint = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
if not owns(entry) then return {'lost'} end
local k = jobkey(id)
if redis.call('EXISTS', k) == 0 then return {'missing'} end
local n = redis.call('RPUSH', stepskey(id), step)
redis.call('HSET', k, 'steps', tostring(n), 'updated_at', NOW_S)
if checkpoint ~= '' then redis.call('HSET', k, 'checkpoint', checkpoint) end
event('step', id, 'running', {'step', tostring(n)})
return {'ok', n}
