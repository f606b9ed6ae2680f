// pyiii browser worker: a browser ES module (no build step) that makes a web page an iii worker.
// It speaks the engine's worker protocol (spec/protocol.md §2-§3, browser notes §6.7) over a
// WebSocket to a worker-manager listener — normally an RBAC listener, authenticated through
// query parameters because browsers cannot set headers.
//
//   import { connectWorker, TriggerAction } from '/static/iii-browser-worker.js'
//   const iii = connectWorker('ws://localhost:49135/?token=abc')
//   iii.registerFunction('ui::toast', async (data) => { show(data.text); return { shown: true } })
//   const out = await iii.trigger({ function_id: 'api::orders::list', payload: {} })        // sync
//   iii.trigger({ function_id: 'api::audit', payload: {}, action: TriggerAction.Void() })  // no reply
//   const sub = iii.subscribeStream('chat', 'room-1', (event) => render(event))           // `stream` trigger
//   iii.onStateChange((state) => badge(state)); iii.close()
//
// Reconnects with exponential backoff and jitter (the SDK defaults). On every (re)open it sends
// `reattach` (when it had a worker id), then each registered function once, each trigger once. Registrations made while offline are not sent twice:
// they are only replayed by that open. Calls made while offline (or before the engine accepted
// the connection) are queued and sent once it has.

const DEFAULT_RECONNECT = { initialDelayMs: 1000, maxDelayMs: 30000, multiplier: 2, jitter: 0.3 }
const MAX_QUEUED = 1000

/** An error answered by the engine or a function: `code` is e.g. FORBIDDEN, function_not_found, TIMEOUT. */
export class IIIError extends Error {
  constructor(code, message, functionId = null, stacktrace = null) {
    super(message)
    this.name = 'IIIError'
    this.code = code
    this.functionId = functionId
    this.stacktrace = stacktrace
  }
}

export const TriggerAction = {
  Void: () => ({ type: 'void' }),
  Enqueue: (queue) => ({ type: 'enqueue', queue }),
}

export function uuid() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID()
  // Pages served over plain http from a non-localhost host have no randomUUID.
  const b = crypto.getRandomValues(new Uint8Array(16))
  b[6] = (b[6] & 0x0f) | 0x40
  b[8] = (b[8] & 0x3f) | 0x80
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

function omitEmpty(frame) {
  for (const key of Object.keys(frame)) if (frame[key] === undefined || frame[key] === null) delete frame[key]
  return frame
}

export class BrowserWorker {
  /**
   * @param {string} url  the listener, e.g. ws://localhost:49135/?token=abc
   * @param {{invocationTimeoutMs?: number, reconnect?: object|false, WebSocket?: typeof WebSocket}} [options]
   */
  constructor(url, options = {}) {
    this.url = url
    this.invocationTimeoutMs = options.invocationTimeoutMs ?? 30000
    this.reconnect = options.reconnect === false ? null : { ...DEFAULT_RECONNECT, ...(options.reconnect || {}) }
    this.WebSocketImpl = options.WebSocket ?? globalThis.WebSocket
    this.functions = new Map() // id -> {frame, handler}
    this.triggers = new Map() // trigger id -> frame
    this.pending = new Map() // invocation id -> {resolve, reject, timer, functionId}
    this.queue = [] // frames sent while offline
    this.stateListeners = new Set()
    this.errorListeners = new Set()
    this.state = 'disconnected'
    this.workerId = null
    this.reattachToken = null
    this.previousWorkerId = null
    this.attempt = 0
    this.closed = false
    this.socket = null
    this.timer = null
    this.stats = { opens: 0, registrationsSent: 0 } // observable for tests and consoles
  }

  /** Open the connection (connectWorker does it for you). */
  connect() {
    if (!this.socket && !this.closed) this._open()
    return this
  }

  /** Resolves once the engine has accepted the connection (first `workerregistered`). */
  ready(timeoutMs = 10000) {
    if (this.state === 'connected') return Promise.resolve(this)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { off(); reject(new IIIError('TIMEOUT', 'not connected in time')) }, timeoutMs)
      const off = this.onStateChange((state) => {
        if (state === 'connected') { clearTimeout(timer); off(); resolve(this) }
      })
    })
  }

  /** callback(state): 'connecting' | 'connected' | 'reconnecting' | 'disconnected' | 'closed'. */
  onStateChange(callback) {
    this.stateListeners.add(callback)
    return () => this.stateListeners.delete(callback)
  }

  /** callback(IIIError): AUTH_ERROR on a refused connection, failed trigger registrations. */
  onError(callback) {
    this.errorListeners.add(callback)
    return () => this.errorListeners.delete(callback)
  }

  /** Register `handler(data, info)` (sync or async) as function `id`; returns {id, unregister}. */
  registerFunction(id, handler, options = {}) {
    if (typeof id !== 'string' || !id.trim()) throw new TypeError('function id is required')
    if (typeof handler !== 'function') throw new TypeError('handler must be a function')
    const frame = omitEmpty({
      type: 'registerfunction', id,
      description: options.description,
      request_format: options.requestFormat ?? options.request_format,
      response_format: options.responseFormat ?? options.response_format,
      metadata: options.metadata,
    })
    this.functions.set(id, { frame, handler })
    this._sendRegistration(frame)
    return {
      id,
      unregister: () => {
        if (this.functions.get(id)?.frame === frame) {
          this.functions.delete(id)
          this._sendNow({ type: 'unregisterfunction', id })
        }
      },
    }
  }

  /** Bind a function to a trigger type: {type, function_id, config, metadata}; returns {id, unregister}. */
  registerTrigger({ type, function_id, config = null, metadata }) {
    const id = uuid()
    const frame = omitEmpty({ type: 'registertrigger', id, trigger_type: type, function_id, metadata })
    frame.config = config // always present: the reference engine drops a frame without it
    this.triggers.set(id, frame)
    this._sendRegistration(frame)
    return {
      id,
      unregister: () => {
        if (this.triggers.delete(id)) this._sendNow({ type: 'unregistertrigger', id, trigger_type: type })
      },
    }
  }

  /**
   * Call a function. Sync (default): resolves with the result or rejects with an IIIError.
   * `action: TriggerAction.Void()` resolves at once with undefined; Enqueue resolves with the receipt.
   */
  trigger({ function_id, payload = null, action = null, timeoutMs, timeout_ms, metadata }) {
    const frame = omitEmpty({ type: 'invokefunction', function_id, action, metadata })
    frame.data = payload ?? null // `data` must be present
    if (action?.type === 'void') {
      this._sendOrQueue(frame)
      return Promise.resolve(undefined)
    }
    const invocationId = uuid()
    frame.invocation_id = invocationId
    const wait = timeoutMs ?? timeout_ms ?? this.invocationTimeoutMs
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(invocationId)
        reject(new IIIError('TIMEOUT', `invocation timed out after ${wait}ms`, function_id))
      }, wait)
      this.pending.set(invocationId, { resolve, reject, timer, functionId: function_id })
      this._sendOrQueue(frame)
    })
  }

  /** Shorthand for a sync trigger. */
  call(functionId, payload = null, options = {}) {
    return this.trigger({ ...options, function_id: functionId, payload })
  }

  /**
   * Receive a stream's changes through a `stream` trigger bound to a function this page
   * registers (needs function registration and the `stream` trigger type on the listener).
   * callback(envelope): {streamName, groupId, id, event: {type, data}}. Returns {unsubscribe}.
   */
  subscribeStream(streamName, groupId, callback, { itemId, functionId } = {}) {
    const fid = functionId ?? `ui::stream::${uuid()}`
    const fn = this.registerFunction(fid, async (envelope) => { await callback(envelope); return null })
    const config = { stream_name: streamName }
    if (groupId) config.group_id = groupId
    if (itemId) config.item_id = itemId
    const trig = this.registerTrigger({ type: 'stream', function_id: fid, config })
    return { functionId: fid, triggerId: trig.id, unsubscribe: () => { trig.unregister(); fn.unregister() } }
  }

  /** Stop for good: no reconnect; pending calls fail with SHUTDOWN. */
  close() {
    this.closed = true
    clearTimeout(this.timer)
    for (const [id, call] of this.pending) {
      clearTimeout(call.timer)
      call.reject(new IIIError('SHUTDOWN', 'worker closed', call.functionId))
      this.pending.delete(id)
    }
    this.socket?.close(1000, 'client closed')
    this.socket = null
    this._setState('closed')
  }

  // ------------------------------------------------------------------ internals

  _setState(state) {
    if (this.state === state) return
    this.state = state
    for (const l of this.stateListeners) { try { l(state) } catch (err) { console.error(err) } }
  }

  _emitError(error) {
    if (this.errorListeners.size === 0) console.warn('iii browser worker:', error.code, error.message)
    for (const l of this.errorListeners) { try { l(error) } catch (err) { console.error(err) } }
  }

  _isOpen() {
    return this.socket !== null && this.socket.readyState === 1
  }

  _sendNow(frame) {
    if (this._isOpen()) this.socket.send(JSON.stringify(frame))
  }

  _sendRegistration(frame) {
    // Offline registrations are not queued: the next open replays every registration once.
    if (this._isOpen()) {
      this.socket.send(JSON.stringify(frame))
      this.stats.registrationsSent++
    }
  }

  _sendOrQueue(frame) {
    // Calls wait for `workerregistered`: on an RBAC listener a socket can open and then be
    // refused (AUTH_ERROR), and whatever was sent on it is lost.
    if (this._isOpen() && this.state === 'connected') {
      this.socket.send(JSON.stringify(frame))
      return
    }
    this.queue.push(frame)
    if (this.queue.length > MAX_QUEUED) this.queue.shift() // oldest dropped, as the SDKs do
  }

  _flushQueue(socket) {
    for (const frame of this.queue.splice(0)) {
      // A call that timed out while offline is not worth sending.
      if (frame.invocation_id && !this.pending.has(frame.invocation_id)) continue
      socket.send(JSON.stringify(frame))
    }
  }

  _open() {
    this._setState(this.attempt === 0 && this.stats.opens === 0 ? 'connecting' : 'reconnecting')
    const socket = new this.WebSocketImpl(this.url)
    this.socket = socket
    socket.onopen = () => {
      if (this.socket !== socket) return
      this.attempt = 0
      this.stats.opens++
      if (this.previousWorkerId) {
        socket.send(JSON.stringify(omitEmpty({
          type: 'reattach', previous_worker_id: this.previousWorkerId, reattach_token: this.reattachToken,
        })))
      }
      for (const { frame } of this.functions.values()) socket.send(JSON.stringify(frame))
      for (const frame of this.triggers.values()) socket.send(JSON.stringify(frame))
      this.stats.registrationsSent += this.functions.size + this.triggers.size
    }
    socket.onmessage = async (msg) => {
      const text = typeof msg.data === 'string' ? msg.data : await new Response(msg.data).text()
      let frame
      try { frame = JSON.parse(text) } catch { return }
      if (frame && typeof frame === 'object') this._onFrame(frame, socket)
    }
    socket.onclose = () => {
      if (this.socket !== socket) return
      this.socket = null
      if (this.workerId) this.previousWorkerId = this.workerId
      this.workerId = null
      if (this.closed) return
      this._setState('disconnected')
      if (!this.reconnect) return
      const r = this.reconnect
      const base = Math.min(r.initialDelayMs * r.multiplier ** this.attempt, r.maxDelayMs)
      const delay = Math.max(0, base + base * r.jitter * (Math.random() * 2 - 1))
      this.attempt++
      this.timer = setTimeout(() => this._open(), delay)
    }
    socket.onerror = () => { /* onclose follows and schedules the reconnect */ }
  }

  _onFrame(frame, socket) {
    switch (frame.type) {
      case 'workerregistered':
        this.workerId = frame.worker_id
        this.reattachToken = frame.reattach_token ?? null
        this._setState('connected')
        this._flushQueue(socket)
        return
      case 'invocationresult': {
        const call = this.pending.get(frame.invocation_id)
        if (!call) return
        this.pending.delete(frame.invocation_id)
        clearTimeout(call.timer)
        if (frame.error) {
          const e = frame.error
          call.reject(typeof e === 'object'
            ? new IIIError(e.code ?? 'UNKNOWN', e.message ?? String(e), call.functionId, e.stacktrace ?? null)
            : new IIIError('UNKNOWN', String(e), call.functionId))
        } else {
          call.resolve(frame.result ?? null)
        }
        return
      }
      case 'invokefunction':
        this._invoke(frame, socket)
        return
      case 'triggerregistrationresult':
        if (frame.error) {
          this._emitError(new IIIError(frame.error.code, frame.error.message, frame.function_id))
        }
        return
      case 'ping':
        socket.send(JSON.stringify({ type: 'pong' }))
        return
      case 'error': // handshake refused (AUTH_ERROR); the engine closes and we retry with backoff
        this._emitError(new IIIError(frame.error?.code ?? 'UNKNOWN', frame.error?.message ?? 'connection refused'))
        return
      default:
        return // pong, unknown frames: ignored, as the SDKs do
    }
  }

  async _invoke(frame, socket) {
    const { invocation_id: invocationId, function_id: functionId } = frame
    const reply = (body) => {
      if (!invocationId) return // void calls want no answer
      const out = { type: 'invocationresult', invocation_id: invocationId, function_id: functionId, ...body }
      if (socket.readyState === 1) socket.send(JSON.stringify(out))
    }
    const entry = this.functions.get(functionId)
    if (!entry) {
      reply({ error: { code: 'function_not_found', message: `Function ${functionId} not found` } })
      return
    }
    try {
      const result = await entry.handler(frame.data ?? null, {
        invocationId, functionId, metadata: frame.metadata ?? null, traceparent: frame.traceparent ?? null,
      })
      reply(result === undefined || result === null ? {} : { result })
    } catch (err) {
      reply({ error: { code: 'invocation_failed', message: String(err?.message ?? err), stacktrace: err?.stack } })
    }
  }
}

/** Create a worker and connect it. */
export function connectWorker(url, options = {}) {
  return new BrowserWorker(url, options).connect()
}

export default connectWorker
