import { ENDED_RUN_STATUSES } from "@waypoint/checkpoint";
import { RUN_FIELDS } from "./run-records.js";

/**
 * The run queue's Lua scripts. Those named wpRun* touch one thread's slot
 * (its run hashes and run sets), and decide everything about a run there,
 * atomically: the strategies, which run holds the thread, claims, leases and
 * fences. wpQueue touches the `{p}` slot (the queue stream and the run
 * index). The client calls one after the other; see redis-run-store.ts for
 * the order and what a crash between them leaves.
 */

/** Checks a fence against a run's hash: the problem, or nil and the pending control ("" = none). */
export const FENCE = `
  local function fence_problem(key, token)
    local f = redis.call('HMGET', key, 'token', 'status', 'worker', 'control')
    if not f[1] then return 'there is no such run on this thread' end
    if f[1] ~= token then
      local by = ''
      if f[3] and f[3] ~= '' then by = ' by worker ' .. f[3] end
      return 'the run was claimed again' .. by .. ' (token ' .. f[1] .. ')'
    end
    if f[2] == 'pending' then return 'the run was released back to the queue' end
    if f[2] ~= 'running' then return 'the run is ' .. f[2] .. ', no longer running' end
    return nil, f[4]
  end
`;

const RUNS = `${FENCE}
  local FIELDS = {${RUN_FIELDS.map((name) => `'${name}'`).join(", ")}}
  local function int(n) return string.format('%d', n) end
  local function now_ms()
    local t = redis.call('TIME')
    return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  local function record(key) return redis.call('HMGET', key, unpack(FIELDS)) end
  -- The run that holds the thread: its oldest active run, and its status.
  local function head(tag, active)
    local first = redis.call('ZRANGE', active, 0, 0)[1]
    if not first then return '', '' end
    return first, redis.call('HGET', tag .. ':run:' .. first, 'status') or ''
  end
  -- After a change: the run to queue again, if the thread's head became a pending run.
  local function unblocked(tag, active, before_id, before_status)
    local id, status = head(tag, active)
    if status == 'pending' and (id ~= before_id or before_status ~= 'pending') then return id end
    return ''
  end
  -- Ends a run (or pauses it): either way it drops its lease and any control request.
  local function stop(key, active, id, status, now, err)
    redis.call('HSET', key, 'status', status, 'control', '', 'worker', '', 'lease', '', 'updated', int(now))
    if status ~= 'paused' then
      redis.call('HSET', key, 'ended', int(now))
      redis.call('ZREM', active, id)
    end
    if err and err ~= '' then redis.call('HSET', key, 'error', err) end
  end
`;

export const RUN_SCRIPTS = {
  /**
   * KEYS: run, active, runs. ARGV: thread tag, id, thread id, graph, input, strategy, max attempts,
   * metadata, queue entry id, freshness ms. Refuses ("stale") when the entry, added just before, is
   * older than the freshness bound: a late create must not revive an entry claims gave up on.
   */
  wpRunCreate: {
    numberOfKeys: 3,
    lua: `${RUNS}
      local now = now_ms()
      if now - tonumber(string.match(ARGV[9], '^%d+')) > tonumber(ARGV[10]) then return {'stale'} end
      local tag, id, strategy = ARGV[1], ARGV[2], ARGV[6]
      local before_id, before_status = head(tag, KEYS[2])
      if strategy == 'reject' and before_id ~= '' then return {'busy', before_id, before_status} end
      if strategy == 'interrupt' or strategy == 'rollback' then
        for _, other in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
          local key = tag .. ':run:' .. other
          local status = redis.call('HGET', key, 'status')
          if status == 'running' then
            -- A cancel already asked for stands: the run ends cancelled, not interrupted.
            if redis.call('HGET', key, 'control') ~= 'cancel' then
              redis.call('HSET', key, 'control', strategy, 'updated', int(now))
            end
          elseif status == 'paused' then
            local ended = 'cancelled'
            if strategy == 'interrupt' then ended = 'interrupted' end
            stop(key, KEYS[2], other, ended, now)
          end
        end
      end
      redis.call('HSET', KEYS[1], 'id', id, 'thread', ARGV[3], 'graph', ARGV[4], 'input', ARGV[5],
        'status', 'pending', 'strategy', strategy, 'attempts', '0', 'max', ARGV[7], 'token', '0',
        'worker', '', 'lease', '', 'control', '', 'error', '', 'meta', ARGV[8], 'created', int(now),
        'updated', int(now), 'started', '', 'ended', '', 'entry', '')
      redis.call('ZADD', KEYS[3], 0, id)
      redis.call('ZADD', KEYS[2], 0, id)
      local next = unblocked(tag, KEYS[2], before_id, before_status)
      if next == id then next = '' end
      return {'ok', record(KEYS[1]), next}`,
  },
  /**
   * KEYS: run, active. ARGV: thread tag, id, queue entry id, worker, lease ms, redeliver ms,
   * forget ms, error ("" = none: a run past its attempts is reported "exhausted", and failed by a
   * second call with the error). Decides what a delivered queue entry means:
   *   taken <record>       the run is now this worker's
   *   later <ms>           look again then (a live lease's end, or a run not created yet)
   *   wait                 not claimable now (paused, or an earlier run holds the thread)
   *   drop                 the run ended, or the entry duplicates its claim's entry
   *   forget               no run came of this entry: its create never finished
   *   exhausted <max>      past its attempts; failed <next> once failed
   */
  wpRunClaim: {
    numberOfKeys: 2,
    lua: `${RUNS}
      local now = now_ms()
      local f = redis.call('HMGET', KEYS[1], 'status', 'lease', 'entry', 'attempts', 'max', 'started')
      local status = f[1]
      if not status then
        local age = now - tonumber(string.match(ARGV[3], '^%d+'))
        if age > tonumber(ARGV[7]) then return {'forget'} end
        return {'later', int(now + math.min(tonumber(ARGV[6]), math.max(50, age)))}
      end
      if status == 'paused' then return {'wait'} end
      if status ~= 'pending' and status ~= 'running' then return {'drop'} end
      if redis.call('ZRANGE', KEYS[2], 0, 0)[1] ~= ARGV[2] then return {'wait'} end
      if status == 'running' and tonumber(f[2]) > now then
        if f[3] == ARGV[3] then return {'later', f[2]} end
        return {'drop'}
      end
      if tonumber(f[4]) >= tonumber(f[5]) then
        if ARGV[8] == '' then return {'exhausted', f[5]} end
        stop(KEYS[1], KEYS[2], ARGV[2], 'failed', now, ARGV[8])
        return {'failed', unblocked(ARGV[1], KEYS[2], ARGV[2], status)}
      end
      redis.call('HINCRBY', KEYS[1], 'attempts', 1)
      redis.call('HINCRBY', KEYS[1], 'token', 1)
      redis.call('HSET', KEYS[1], 'status', 'running', 'worker', ARGV[4],
        'lease', int(now + tonumber(ARGV[5])), 'updated', int(now), 'entry', ARGV[3])
      if f[6] == '' then redis.call('HSET', KEYS[1], 'started', int(now)) end
      return {'taken', record(KEYS[1])}`,
  },
  /** KEYS: run. ARGV: token, lease ms. Renews the lease: {'ok', lease, control, entry, worker}. */
  wpRunHeartbeat: {
    numberOfKeys: 1,
    lua: `${RUNS}
      local problem, control = fence_problem(KEYS[1], ARGV[1])
      if problem then return {'lost', problem} end
      local now = now_ms()
      local lease = int(now + tonumber(ARGV[2]))
      redis.call('HSET', KEYS[1], 'lease', lease, 'updated', int(now))
      local f = redis.call('HMGET', KEYS[1], 'entry', 'worker')
      return {'ok', lease, control, f[1], f[2]}`,
  },
  /**
   * KEYS: run, active. ARGV: thread tag, id, token, outcome (a status, or "release"), error JSON.
   * Ends, pauses or releases a claimed run: {'ok', record, claim entry, next run to queue}.
   */
  wpRunFinish: {
    numberOfKeys: 2,
    lua: `${RUNS}
      local problem = fence_problem(KEYS[1], ARGV[3])
      if problem then return {'lost', problem} end
      local now = now_ms()
      local before_id, before_status = head(ARGV[1], KEYS[2])
      if ARGV[4] == 'release' then
        redis.call('HINCRBY', KEYS[1], 'attempts', -1)
        redis.call('HSET', KEYS[1], 'status', 'pending', 'worker', '', 'lease', '', 'updated', int(now))
      else
        stop(KEYS[1], KEYS[2], ARGV[2], ARGV[4], now, ARGV[5])
      end
      local entry = redis.call('HGET', KEYS[1], 'entry')
      return {'ok', record(KEYS[1]), entry, unblocked(ARGV[1], KEYS[2], before_id, before_status)}`,
  },
  /**
   * KEYS: run, active. ARGV: thread tag, id, action (cancel, pause, resume).
   * {'missing'}, {'state', status} when the action does not apply, or {'ok', record, next run to queue}.
   */
  wpRunControl: {
    numberOfKeys: 2,
    lua: `${RUNS}
      local f = redis.call('HMGET', KEYS[1], 'status', 'control')
      local status, control, action = f[1], f[2], ARGV[3]
      if not status then return {'missing'} end
      local now = now_ms()
      local before_id, before_status = head(ARGV[1], KEYS[2])
      if action == 'cancel' then
        if status == 'pending' or status == 'paused' then
          stop(KEYS[1], KEYS[2], ARGV[2], 'cancelled', now)
        elseif status == 'running' then
          redis.call('HSET', KEYS[1], 'control', 'cancel', 'updated', int(now))
        end
      elseif action == 'pause' then
        if status == 'pending' then
          redis.call('HSET', KEYS[1], 'status', 'paused', 'updated', int(now))
        elseif status == 'running' then
          if control == '' then redis.call('HSET', KEYS[1], 'control', 'pause', 'updated', int(now)) end
        elseif status ~= 'paused' then
          return {'state', status}
        end
      else
        if status == 'paused' then
          redis.call('HSET', KEYS[1], 'status', 'pending', 'updated', int(now))
        elseif status == 'running' and control == 'pause' then
          redis.call('HSET', KEYS[1], 'control', '', 'updated', int(now))
        else
          return {'state', status}
        end
      end
      return {'ok', record(KEYS[1]), unblocked(ARGV[1], KEYS[2], before_id, before_status)}`,
  },
  /**
   * KEYS: the thread's runs. ARGV: thread tag, before ("" = newest), count, statuses ("" = any,
   * else space-separated). Up to count runs older than before, newest first, those of the statuses:
   * {last id looked at ("" when no more), records...}.
   */
  wpRunPage: {
    numberOfKeys: 1,
    lua: `${RUNS}
      local max = '+'
      if ARGV[2] ~= '' then max = '(' .. ARGV[2] end
      local ids = redis.call('ZREVRANGEBYLEX', KEYS[1], max, '-', 'LIMIT', 0, tonumber(ARGV[3]))
      local out = {''}
      if #ids == tonumber(ARGV[3]) then out[1] = ids[#ids] end
      for _, id in ipairs(ids) do
        local r = record(ARGV[1] .. ':run:' .. id)
        if ARGV[4] == '' or (r[5] and string.find(' ' .. ARGV[4] .. ' ', ' ' .. r[5] .. ' ', 1, true)) then
          table.insert(out, r)
        end
      end
      return out`,
  },
  /**
   * KEYS: the thread's runs, active. ARGV: thread tag, cutoff (ms), run ids. Deletes each of those
   * runs that ended before the cutoff: {a code per id (1 deleted, 0 kept, -1 no such run), next run
   * to queue}. An ended run is never active; one found there anyway is taken off, freeing the thread.
   */
  wpRunPrune: {
    numberOfKeys: 2,
    lua: `${RUNS}
      local ENDED = {${ENDED_RUN_STATUSES.map((name) => `['${name}'] = true`).join(", ")}}
      local tag, cutoff = ARGV[1], tonumber(ARGV[2])
      local before_id, before_status = head(tag, KEYS[2])
      local codes = {}
      for i = 3, #ARGV do
        local id = ARGV[i]
        local key = tag .. ':run:' .. id
        local f = redis.call('HMGET', key, 'status', 'ended')
        local ended = tonumber(f[2] or '')
        local code = 0
        if not f[1] then
          code = -1
        elseif ENDED[f[1]] and ended and ended < cutoff then
          redis.call('DEL', key)
          redis.call('ZREM', KEYS[1], id)
          redis.call('ZREM', KEYS[2], id)
          code = 1
        end
        table.insert(codes, code)
      end
      return {codes, unblocked(tag, KEYS[2], before_id, before_status)}`,
  },
  /**
   * KEYS: queue stream, run index. ARGV: group, consumer, min idle ms, cursor ("" = read nothing),
   * tidy ms ("" = no tidying: else consumers with no pending entry idle longer than this are
   * deleted, so workers that died leave no consumer behind), then operations of four arguments
   * each:
   *   add <runId> <threadId>          index the run and queue an entry for it
   *   later <entry> <consumer> <ms>   the entry is redelivered min idle ms after <ms> (XCLAIM TIME)
   *   ack <entry>                     done with the entry (XACK, XDEL)
   *   forget <entry> <index member>   and with its run, which was never created
   * Then, with a cursor, delivers one entry: first one whose consumer let it idle (XAUTOCLAIM, from
   * the cursor), else a new one (XREADGROUP). Returns {added entry ids, cursor, entry}, the entry as
   * {id, runId, threadId}.
   */
  wpQueue: {
    numberOfKeys: 2,
    lua: `
      local stream, index, group = KEYS[1], KEYS[2], ARGV[1]
      -- Made on first use (and again if deleted); BUSYGROUP, the usual reply, is ignored.
      redis.pcall('XGROUP', 'CREATE', stream, group, '0', 'MKSTREAM')
      local added = {}
      for i = 6, #ARGV, 4 do
        local op, a, b, c = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
        if op == 'add' then
          redis.call('ZADD', index, 0, a .. '\\0' .. b)
          table.insert(added, redis.call('XADD', stream, '*', 'r', a, 't', b))
        elseif op == 'later' then
          redis.call('XCLAIM', stream, group, b, 0, a, 'TIME', c, 'JUSTID')
        else
          redis.call('XACK', stream, group, a)
          redis.call('XDEL', stream, a)
          if op == 'forget' then redis.call('ZREM', index, b) end
        end
      end
      local tidy = tonumber(ARGV[5])
      if tidy then
        for _, fields in ipairs(redis.call('XINFO', 'CONSUMERS', stream, group)) do
          local c = {}
          for j = 1, #fields, 2 do c[fields[j]] = fields[j + 1] end
          if c.pending == 0 and c.idle > tidy and c.name ~= ARGV[2] then
            redis.call('XGROUP', 'DELCONSUMER', stream, group, c.name)
          end
        end
      end
      local cursor = ARGV[4]
      if cursor == '' then return {added, ''} end
      local function entry(e) return {e[1], e[2][2], e[2][4]} end
      for _ = 1, 10 do
        local r = redis.call('XAUTOCLAIM', stream, group, ARGV[2], ARGV[3], cursor, 'COUNT', 1)
        cursor = r[1]
        if r[2][1] then return {added, cursor, entry(r[2][1])} end
        if cursor == '0-0' then break end
      end
      local r = redis.call('XREADGROUP', 'GROUP', group, ARGV[2], 'COUNT', 1, 'STREAMS', stream, '>')
      if r then return {added, cursor, entry(r[1][2][1])} end
      return {added, cursor}`,
  },
} as const;
