// pyiii stream client: a browser ES module (no build step) for the iii-stream WebSocket
// protocol (port 3112). Works against pyiii and the reference iii engine.
//
//   import { StreamClient } from '/static/stream-client.js'
//   const client = new StreamClient('ws://localhost:3112/?token=abc')
//   const sub = client.subscribeGroup('chat', 'room-1', (items, change) => render(items))
//   const one = client.subscribeItem('chat', 'room-1', 'msg-9', (item, change) => show(item))
//   client.onEvent('chat', 'room-1', (type, data) => console.log('custom event', type, data))
//   sub.close(); client.close()
//
// Every subscription starts with a `sync` (the whole group or item), then applies
// create / update / delete. After a lost connection the client reconnects with backoff and
// re-joins every subscription; each one gets a fresh sync.

const INITIAL_DELAY_MS = 250
const MAX_DELAY_MS = 10000

let counter = 0
const nextId = () => `sub-${Date.now().toString(36)}-${(counter++).toString(36)}`

/** One subscription; holds the current state of its group (a Map id -> item) or item. */
class Subscription {
  constructor(client, streamName, groupId, itemId, callback) {
    this.client = client
    this.id = nextId()
    this.streamName = streamName
    this.groupId = groupId
    this.itemId = itemId ?? null
    this.callback = callback
    this.items = new Map() // group subscriptions: item id -> value, in arrival order
    this.value = null // item subscriptions
    this.synced = false
    this.unauthorized = false
  }

  joinMessage(type = 'join') {
    const data = { subscriptionId: this.id, streamName: this.streamName, groupId: this.groupId }
    if (this.itemId !== null) data.id = this.itemId
    return { type, data }
  }

  matches(message) {
    if (message.streamName !== this.streamName || message.groupId !== this.groupId) return false
    const type = message.event?.type
    // Replies to a join carry no subscription id: a group join's reply has no item id.
    if (type === 'sync' || type === 'unauthorized') return (message.id ?? null) === this.itemId
    return this.itemId === null || message.id === this.itemId
  }

  apply(message) {
    const event = message.event || {}
    switch (event.type) {
      case 'sync':
        this.synced = true
        if (this.itemId !== null) {
          this.value = event.data ?? null
        } else {
          // The group sync carries values only; keep them under synthetic keys until an
          // id-bearing change replaces them.
          this.items = new Map((Array.isArray(event.data) ? event.data : []).map((v, i) => [v?.id ?? `#${i}`, v]))
        }
        break
      case 'create':
      case 'update':
        if (this.itemId !== null) this.value = event.data
        else this.items.set(message.id, event.data)
        break
      case 'delete':
        if (this.itemId !== null) this.value = null
        else this.items.delete(message.id)
        break
      case 'unauthorized':
        this.unauthorized = true
        break
      case 'event':
        return // custom events go to onEvent listeners only
      default:
        return
    }
    const state = this.itemId !== null ? this.value : Array.from(this.items.values())
    try {
      this.callback(state, { type: event.type, id: message.id ?? null, data: event.data, unauthorized: this.unauthorized })
    } catch (err) {
      console.error('stream subscription callback failed', err)
    }
  }

  close() {
    this.client._unsubscribe(this)
  }
}

export class StreamClient {
  /**
   * @param {string} url   e.g. ws://localhost:3112/?token=... (auth travels in the query or cookies)
   * @param {{reconnect?: boolean, WebSocket?: typeof WebSocket}} [options]
   */
  constructor(url, options = {}) {
    this.url = url
    this.reconnect = options.reconnect ?? true
    this.WebSocketImpl = options.WebSocket ?? globalThis.WebSocket
    this.subscriptions = new Map()
    this.eventListeners = new Set()
    this.stateListeners = new Set()
    this.delay = INITIAL_DELAY_MS
    this.closed = false
    this.socket = null
    this._connect()
  }

  /** Subscribe to a whole group: callback(items[], change). */
  subscribeGroup(streamName, groupId, callback) {
    return this._subscribe(new Subscription(this, streamName, groupId, null, callback))
  }

  /** Subscribe to one item: callback(item | null, change). */
  subscribeItem(streamName, groupId, itemId, callback) {
    return this._subscribe(new Subscription(this, streamName, groupId, itemId, callback))
  }

  /** Custom events sent with stream::send: callback(type, data, message). Returns an unsubscribe function. */
  onEvent(streamName, groupId, callback) {
    const listener = { streamName, groupId, callback }
    this.eventListeners.add(listener)
    return () => this.eventListeners.delete(listener)
  }

  /** Connection state changes: callback('open' | 'closed' | 'refused'). */
  onConnectionState(callback) {
    this.stateListeners.add(callback)
    return () => this.stateListeners.delete(callback)
  }

  close() {
    this.closed = true
    if (this.timer) clearTimeout(this.timer)
    this.socket?.close(1000, 'client closed')
  }

  // ------------------------------------------------------------------ internals

  _subscribe(sub) {
    this.subscriptions.set(sub.id, sub)
    this._send(sub.joinMessage())
    return sub
  }

  _unsubscribe(sub) {
    if (this.subscriptions.delete(sub.id)) this._send(sub.joinMessage('leave'))
  }

  _send(message) {
    if (this.socket && this.socket.readyState === 1) this.socket.send(JSON.stringify(message))
    // not open yet: every subscription is (re)joined on open
  }

  _state(state) {
    for (const listener of this.stateListeners) {
      try { listener(state) } catch (err) { console.error(err) }
    }
  }

  _connect() {
    const socket = new this.WebSocketImpl(this.url)
    this.socket = socket
    let opened = false
    socket.onopen = () => {
      opened = true
      this.delay = INITIAL_DELAY_MS
      this._state('open')
      for (const sub of this.subscriptions.values()) {
        sub.synced = false
        socket.send(JSON.stringify(sub.joinMessage()))
      }
    }
    socket.onmessage = async (msg) => {
      const text = typeof msg.data === 'string' ? msg.data : await new Response(msg.data).text()
      let message
      try { message = JSON.parse(text) } catch { return }
      if (!message || message.type !== 'stream') return
      if (message.event?.type === 'event') {
        for (const l of this.eventListeners) {
          if (l.streamName === message.streamName && l.groupId === message.groupId) {
            try { l.callback(message.event.event?.type, message.event.event?.data, message) } catch (err) { console.error(err) }
          }
        }
        return
      }
      for (const sub of this.subscriptions.values()) {
        if (sub.matches(message)) sub.apply(message)
      }
    }
    socket.onclose = (ev) => {
      this.socket = null
      // Never opened: the server refused the upgrade (HTTP 401 from the auth function) or is down.
      this._state(opened ? 'closed' : 'refused')
      if (this.closed || !this.reconnect) return
      const wait = this.delay
      this.delay = Math.min(this.delay * 2, MAX_DELAY_MS)
      this.timer = setTimeout(() => this._connect(), wait + Math.random() * wait * 0.2)
    }
    socket.onerror = () => { /* onclose follows and schedules the reconnect */ }
  }
}

export default StreamClient
