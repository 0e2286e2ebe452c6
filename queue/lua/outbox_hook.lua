-- Webhook outbox (issue 13): appended to every script after common.lua. A state change of a
-- job whose JSON names a webhook (`"notify": "NAME"`) adds one entry to <ns>:outbox in the
-- same script as the change, so a worker that crashes after the change still delivers it:
-- the worker's webhook dispatcher reads the outbox with the consumer group `webhooks`
-- (XREADGROUP, XAUTOCLAIM after a crash) and deletes an entry once it is delivered.
-- Entry: webhook, event, id, status, error, at, job (the job JSON), result (the result JSON).
-- Which events a webhook wants is the worker's config; the dispatcher skips the others.
local OUTBOX_EVENTS = {succeeded = 'succeeded', failed = 'failed', dead = 'dead',
                       cancelled = 'cancelled', retry_scheduled = 'retry_scheduled',
                       delayed = 'retry_scheduled'}
outbox_hook = function(kind, id, status, extra)
  local name = OUTBOX_EVENTS[kind]
  if not name or not id or id == '' then return end
  local k = jobkey(id)
  local job = redis.call('HGET', k, 'job')
  -- Cheap test first: most jobs name no webhook.
  if not job or not string.find(job, '"notify"', 1, true) then return end
  local ok, j = pcall(cjson.decode, job)
  if not ok or type(j) ~= 'table' or type(j.notify) ~= 'string' or j.notify == '' then return end
  local err = ''
  if extra then
    for i = 1, #extra - 1, 2 do
      if extra[i] == 'error' then err = extra[i + 1] end
    end
  end
  redis.call('XADD', ns .. ':outbox', '*', 'webhook', j.notify, 'event', name, 'id', id,
             'status', status or '', 'error', err, 'at', NOW_S, 'job', job,
             'result', redis.call('HGET', k, 'result') or '')
end
