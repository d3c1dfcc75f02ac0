import { ANCHOR_EVERY } from "@waypoint/checkpoint/backend";
import { FENCE, type RUN_SCRIPTS } from "./run-scripts.js";

/**
 * The Lua scripts: each write is one script, so it is atomic and one round
 * trip. Every key a script touches carries the thread's hash tag, so in a
 * cluster each script runs on one slot. Keys built inside a script (a
 * checkpoint's pending writes) share that tag.
 */
/**
 * Shared by the writing scripts: gives every key of the thread the same
 * expiry, so a thread stays whole or goes whole. `refresh` ("1") moves the
 * expiry to now + ttl; otherwise keys created later get the thread's current
 * expiry.
 */
const EXPIRE_THREAD = `
  local function expire_thread(tag, ttl, refresh)
    ttl = tonumber(ttl)
    if ttl <= 0 then return end
    local nss = tag .. ':nss'
    local at = redis.call('PEXPIRETIME', nss)
    if refresh == '1' or at <= 0 then
      local now = redis.call('TIME')
      at = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) + ttl
    end
    local keys = {nss, tag .. ':pwk'}
    for _, ns in ipairs(redis.call('SMEMBERS', nss)) do
      local base = tag .. ':' .. string.len(ns) .. ':' .. ns
      table.insert(keys, base .. ':head')
      table.insert(keys, base .. ':cps')
      table.insert(keys, base .. ':idx')
    end
    for _, key in ipairs(redis.call('SMEMBERS', tag .. ':pwk')) do table.insert(keys, key) end
    for _, key in ipairs(keys) do redis.call('PEXPIREAT', key, at) end
  end
`;

/**
 * The head key holds the head's id. Earlier versions stored the head's base after it and a NUL;
 * `head_of` reads both and returns the id.
 */
const HEAD_OF = `
  local function head_of(key)
    local value = redis.call('GET', key)
    if not value then return nil end
    return string.match(value, '^[^%z]*')
  end
`;

/**
 * A stored header's base id, either layout ("" in layout 2: the checkpoint itself); nil for a
 * damaged header, which the caller reports rather than failing with a Lua error.
 */
const BASE_OF = `
  local function base_of(cid, header)
    if string.sub(header, 1, 1) == '{' then
      local ok, decoded = pcall(cjson.decode, header)
      if ok and type(decoded) == 'table' and type(decoded.baseId) == 'string' then
        return decoded.baseId
      end
      return nil
    end
    local base = string.match(header, '^2%z[^%z]*%z[^%z]*%z[^%z]*%z([^%z]*)%z')
    if base == '' then return cid end
    return base
  end
`;

/**
 * The parent whose header a stored header (layout 2) may be a delta of: nil for one that cannot
 * be (format 1 or 2, no parent, an anchor: chainLength a multiple of ANCHOR_EVERY).
 */
/** Chains up to this many records load in one round trip (wpGet returns their deltas). */
export const INLINE_CHAIN = 64;

const DELTA_PARENT = `
  local function delta_parent(header)
    local version, parent, length = string.match(header,
      '^2%z([^%z]*)%z[^%z]*%z([^%z]*)%z[^%z]*%z[^%z]*%z[^%z]*%z([^%z]*)%z')
    if not version or (tonumber(version) or 0) < 3 or parent == '' then return nil end
    if (tonumber(length) or 0) % ${ANCHOR_EVERY} == 0 then return nil end
    return parent
  end
`;

/**
 * wpPut's body, as a function of its keys and arguments (K, A), shared with wpPutFenced and
 * wpPutPending. The header is stored as sent: only its id and parent are read here. The head is
 * read raw and cut at a NUL only when it differs, so a head of the current layout costs no
 * pattern match.
 */
const PUT_FUNCTION = `
  local function put(K, A)
    local header = A[1]
    local id, parent = string.match(header, '^2%z[^%z]*%z([^%z]*)%z([^%z]*)%z')
    if not id then return redis.error_reply('ERR malformed checkpoint header') end
    local expected = A[4]
    if expected == '\\0' then expected = parent end
    local head = redis.call('GET', K[1]) or ''
    if head ~= expected then
      head = string.match(head, '^[^%z]*')
      if head ~= expected then return {'conflict', head} end
    end
    if parent ~= '' and parent ~= expected and redis.call('HEXISTS', K[2], 'h:' .. parent) == 0 then
      return {'noparent', head}
    end
    if A[3] == '' then
      redis.call('HSET', K[2], 'h:' .. id, header, 'p:' .. id, A[2])
    else
      redis.call('HSET', K[2], 'h:' .. id, header, 'p:' .. id, A[2], 's:' .. id, A[3])
    end
    redis.call('ZADD', K[3], 0, id)
    redis.call('SET', K[1], id)
    if K[4] then
      if head == '' then redis.call('SADD', K[4], A[5]) end
      expire_thread(string.sub(K[4], 1, -5), A[6], A[7])
    end
    return {'ok', ''}
  end
`;
const PUT = `${EXPIRE_THREAD}${PUT_FUNCTION}`;

/** wpPending's body, shared with wpPendingFenced. */
const PENDING_FUNCTION = `
  local function pending(K, A)
    if redis.call('HEXISTS', K[1], 'h:' .. A[1]) == 0 then return 0 end
    for i = 5, #A, 2 do redis.call('HSET', K[2], A[i], A[i + 1]) end
    redis.call('SADD', A[2] .. ':pwk', K[2])
    expire_thread(A[2], A[3], A[4])
    return 1
  end
`;
const PENDING = `${EXPIRE_THREAD}${PENDING_FUNCTION}`;

/**
 * wpPutPending's body, shared with wpPutPendingFenced: put, then, only if it wrote the checkpoint,
 * pending against it. The keys are wpPut's four and the pending-writes key; the arguments wpPut's
 * seven, the checkpoint id and the field/value pairs.
 */
const PUT_PENDING = `${EXPIRE_THREAD}${PUT_FUNCTION}${PENDING_FUNCTION}
  local function put_pending(K, A)
    local reply = put(K, A)
    if reply[1] ~= 'ok' then return reply end
    local P = {A[8], string.sub(K[4], 1, -5), A[6], A[7]}
    for i = 9, #A do P[i - 4] = A[i] end
    pending({K[2], K[5]}, P)
    return reply
  end
`;

/** The keys or arguments after the first (the fence's). */
const SHIFT = `
  local function shift(list)
    local rest = {}
    for i = 2, #list do rest[i - 1] = list[i] end
    return rest
  end
`;

/** A put script under a run's fence: `body` defines `name(K, A)`, which answers as wpPut. */
function fencedPut(body: string, name: string): string {
  return `${body}${FENCE}${SHIFT}
      local problem, control = fence_problem(KEYS[1], ARGV[1])
      if problem then return {'lost', problem} end
      local reply = ${name}(shift(KEYS), shift(ARGV))
      reply[3] = control
      return reply`;
}

export const SCRIPTS = {
  /**
   * KEYS: head, checkpoints, index, and the namespaces set only for a namespace's first checkpoint
   * or with a TTL. ARGV: header (layout 2, see records.ts), delta, snapshot ("" = none), expected
   * head ("" = none, NUL = the header's parent), then with the namespaces key: namespace, ttl ms
   * (0 = none), refresh ("1"/"0"). Each id travels once; the thread's tag is the namespaces key
   * less ":nss".
   */
  wpPut: {
    lua: `${PUT} return put(KEYS, ARGV)`,
  },
  /**
   * KEYS: the run's hash, then wpPut's. ARGV: the fence's token, then wpPut's. Writes nothing and
   * returns {'lost', problem} when the fence is stale; else wpPut's reply and the run's pending
   * control request ("" = none).
   */
  wpPutFenced: {
    lua: fencedPut(PUT, "put"),
  },
  /**
   * A put with pending writes, both or neither. KEYS: wpPut's four (the namespaces key always), then
   * the new checkpoint's pending-writes key. ARGV: wpPut's seven, the checkpoint id, then
   * field/value pairs as wpPending's. wpPut's reply.
   */
  wpPutPending: {
    numberOfKeys: 5,
    lua: `${PUT_PENDING} return put_pending(KEYS, ARGV)`,
  },
  /** KEYS: the run's hash, then wpPutPending's. ARGV: the fence's token, then wpPutPending's. As wpPutFenced. */
  wpPutPendingFenced: {
    numberOfKeys: 6,
    lua: fencedPut(PUT_PENDING, "put_pending"),
  },
  /**
   * KEYS: head, checkpoints, index. ARGV: checkpoint id ("" = the head), pending-writes key prefix.
   * Returns the target id, [id, header, delta, snapshot or ""] of every checkpoint of its chain
   * (either layout), and its pending writes; {'corrupt', id} for a header it cannot read.
   */
  wpGet: {
    numberOfKeys: 3,
    lua: `${HEAD_OF}${BASE_OF}
      local id = ARGV[1]
      if id == '' then
        id = head_of(KEYS[1])
        if not id then return {'none'} end
      end
      local target = redis.call('HGET', KEYS[2], 'h:' .. id)
      if not target then return {'missing'} end
      local base = base_of(id, target)
      if not base then return {'corrupt', id} end
      -- A chain's records are the index's range from its base to the target:
      -- a put that does not follow the head is a fork, and a fork starts a new
      -- chain, so no other record's id falls in between (the decoder follows
      -- the parent links all the same, and ignores a record off the path).
      -- Their headers come back here, and so do their deltas when the chain
      -- is short; a long one's (thousands on a growing thread) the caller
      -- reads with one HMGET, which Redis answers from the hash directly
      -- (through this script they cost several times a plain read: each is
      -- copied into Lua and out again).
      local ids = redis.call('ZRANGEBYLEX', KEYS[3], '[' .. base, '[' .. id)
      local headers = {}
      for from = 1, #ids, 500 do
        local hf = {}
        for i = from, math.min(from + 499, #ids) do hf[#hf + 1] = 'h:' .. ids[i] end
        headers[#headers + 1] = redis.call('HMGET', KEYS[2], unpack(hf))
      end
      local chain = {ids, headers}
      if #ids <= ${INLINE_CHAIN} then
        -- A short chain (most loads) comes back whole, in this one round trip.
        local pf = {}
        for i = 1, #ids do pf[i] = 'p:' .. ids[i] end
        pf[#pf + 1] = 's:' .. base
        chain[3] = redis.call('HMGET', KEYS[2], unpack(pf))
      end
      return {'ok', id, chain, redis.call('HVALS', ARGV[2] .. id)}`,
  },
  /**
   * KEYS: index, checkpoints. ARGV: before ("" = newest), count. Ids and their headers, newest
   * first; then ids and headers of the older checkpoints the page's delta headers decode from
   * (each delta's parents, back to one that cannot be a delta: an anchor, or older than format 3).
   */
  wpListPage: {
    numberOfKeys: 2,
    lua: `${DELTA_PARENT}
      local max = '+'
      if ARGV[1] ~= '' then max = '(' .. ARGV[1] end
      local headers = {}
      local listed = {}
      for _, cid in ipairs(redis.call('ZREVRANGEBYLEX', KEYS[1], max, '-', 'LIMIT', 0, tonumber(ARGV[2]))) do
        listed[cid] = true
        table.insert(headers, cid)
        table.insert(headers, redis.call('HGET', KEYS[2], 'h:' .. cid) or '')
      end
      local older = {}
      for i = 2, #headers, 2 do
        local parent = delta_parent(headers[i])
        while parent and not listed[parent] do
          listed[parent] = true
          local header = redis.call('HGET', KEYS[2], 'h:' .. parent)
          if not header then break end
          table.insert(older, parent)
          table.insert(older, header)
          parent = delta_parent(header)
        end
      end
      return {headers, older}`,
  },
  /** KEYS: checkpoints, pending writes. ARGV: checkpoint id, thread tag, ttl ms, refresh, then field/value pairs. */
  wpPending: {
    numberOfKeys: 2,
    lua: `${PENDING} return pending(KEYS, ARGV)`,
  },
  /** KEYS: the run's hash, then wpPending's. ARGV: the fence's token, then wpPending's. As wpPutFenced. */
  wpPendingFenced: {
    numberOfKeys: 3,
    lua: `${PENDING}${FENCE}${SHIFT}
      local problem, control = fence_problem(KEYS[1], ARGV[1])
      if problem then return {'lost', problem} end
      return {pending(shift(KEYS), shift(ARGV)), control}`,
  },
  /**
   * KEYS: head, checkpoints. ARGV: pending-writes key prefix. The head's id, header ("" = missing)
   * and pending writes; {} without a head.
   */
  wpHeadStatus: {
    numberOfKeys: 2,
    lua: `${HEAD_OF}
      local id = head_of(KEYS[1])
      if not id then return {} end
      return {id, redis.call('HGET', KEYS[2], 'h:' .. id) or '', redis.call('HVALS', ARGV[1] .. id)}`,
  },
  /**
   * KEYS: head, checkpoints, index. ARGV: exclusive lower bound id ("" = from the first), page size.
   * The head id ("" = none), then a page of ids in order and their headers (for prune: one
   * bounded script per page, however long the thread).
   */
  wpHeaderPage: {
    numberOfKeys: 3,
    lua: `${HEAD_OF}
      local from = '-'
      if ARGV[1] ~= '' then from = '(' .. ARGV[1] end
      local ids = redis.call('ZRANGEBYLEX', KEYS[3], from, '+', 'LIMIT', 0, tonumber(ARGV[2]))
      local headers = {}
      for i, cid in ipairs(ids) do headers[i] = redis.call('HGET', KEYS[2], 'h:' .. cid) or '' end
      return {head_of(KEYS[1]) or '', ids, headers}`,
  },
  /** KEYS: checkpoints, index. ARGV: pending-writes key prefix, pending-keys set, then ids. Deletes those checkpoints. */
  wpDeleteIds: {
    numberOfKeys: 2,
    lua: `
      local deleted = 0
      for i = 3, #ARGV do
        if redis.call('HDEL', KEYS[1], 'h:' .. ARGV[i], 'p:' .. ARGV[i], 's:' .. ARGV[i]) > 0 then
          deleted = deleted + 1
        end
        redis.call('DEL', ARGV[1] .. ARGV[i])
        redis.call('SREM', ARGV[2], ARGV[1] .. ARGV[i])
        redis.call('ZREM', KEYS[2], ARGV[i])
      end
      return deleted`,
  },
  /**
   * KEYS: head, checkpoints, index, namespaces. ARGV: pending-writes prefix, namespace, batch size, pending-keys set.
   * Deletes a batch of one namespace (its head first, so readers see the thread gone at once); 0 when done.
   */
  wpDeleteBatch: {
    numberOfKeys: 4,
    lua: `
      redis.call('DEL', KEYS[1])
      local ids = redis.call('ZRANGE', KEYS[3], 0, tonumber(ARGV[3]) - 1)
      for _, cid in ipairs(ids) do
        redis.call('HDEL', KEYS[2], 'h:' .. cid, 'p:' .. cid, 's:' .. cid)
        redis.call('DEL', ARGV[1] .. cid)
        redis.call('SREM', ARGV[4], ARGV[1] .. cid)
        redis.call('ZREM', KEYS[3], cid)
      end
      if redis.call('ZCARD', KEYS[3]) == 0 then
        redis.call('DEL', KEYS[2], KEYS[3])
        redis.call('SREM', KEYS[4], ARGV[2])
        return 0
      end
      return 1`,
  },
  /** KEYS: checkpoints, index. ARGV: pending-writes prefix. Every [id, header, delta, snapshot or "", pending writes]. */
  wpExport: {
    numberOfKeys: 2,
    lua: `
      local out = {}
      for _, cid in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
        local f = redis.call('HMGET', KEYS[1], 'h:' .. cid, 'p:' .. cid, 's:' .. cid)
        table.insert(out, {cid, f[1] or '', f[2] or '', f[3] or '', redis.call('HVALS', ARGV[1] .. cid)})
      end
      return out`,
  },
  /**
   * KEYS: namespaces. ARGV: a JSON list of namespaces, thread tag, ttl ms, refresh; each namespace
   * { keys: { head, cps, idx, pw }, head, checkpoints: [[id, header, delta, snapshot or ""]],
   * pending: [[id, field, value]] } (layout 2).
   * Writes the whole thread, unless it exists.
   */
  wpImport: {
    numberOfKeys: 1,
    lua: `${EXPIRE_THREAD}
      if redis.call('SCARD', KEYS[1]) > 0 then return 0 end
      for _, ns in ipairs(cjson.decode(ARGV[1])) do
        for _, cp in ipairs(ns.checkpoints) do
          redis.call('HSET', ns.keys.cps, 'h:' .. cp[1], cp[2], 'p:' .. cp[1], cp[3])
          if cp[4] ~= '' then redis.call('HSET', ns.keys.cps, 's:' .. cp[1], cp[4]) end
          redis.call('ZADD', ns.keys.idx, 0, cp[1])
        end
        for _, pw in ipairs(ns.pending) do
          redis.call('HSET', ns.keys.pw .. pw[1], pw[2], pw[3])
          redis.call('SADD', ARGV[2] .. ':pwk', ns.keys.pw .. pw[1])
        end
        redis.call('SET', ns.keys.head, ns.head)
        redis.call('SADD', KEYS[1], ns.namespace)
      end
      expire_thread(ARGV[2], ARGV[3], ARGV[4])
      return 1`,
  },
  /**
   * KEYS: the thread index, the expiring set, and on a single server the thread's namespaces set.
   * ARGV: thread id, the sweep's now (ms), and on a cluster the namespaces set's PEXPIRETIME, read
   * before (its slot is another). Takes an expired thread off both sets (1); reschedules one that
   * still expires for when it does, forgets one that no longer does (0). An entry scored after
   * `now` was rescheduled meanwhile (a new thread of that id, or another sweep): left alone.
   */
  wpSweepThread: {
    lua: `
      local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
      if not score or tonumber(score) > tonumber(ARGV[2]) then return 0 end
      local at
      if KEYS[3] then at = redis.call('PEXPIRETIME', KEYS[3]) else at = tonumber(ARGV[3]) end
      if at == -2 then
        redis.call('ZREM', KEYS[1], ARGV[1])
        redis.call('ZREM', KEYS[2], ARGV[1])
        return 1
      end
      if at == -1 then
        redis.call('ZREM', KEYS[2], ARGV[1])
      else
        redis.call('ZADD', KEYS[2], at, ARGV[1])
      end
      return 0`,
  },
} as const;

export type ScriptName = keyof typeof SCRIPTS | keyof typeof RUN_SCRIPTS;
