// A Node process hosting official iii-sdk workers, driven by tests/interop over stdin/stdout.
//
// stdin:  one JSON command per line  {"rid": 1, "op": "connect", "w": "n1", ...}
// stdout: one JSON line per answer   {"rid": 1, "ok": true, "result": ...}
//                                    {"rid": 1, "ok": false, "error": {"code": "...", "message": "..."}}
//         and unsolicited events     {"event": "invoked", "w": "n1", ...}
//
// Handler kinds for register_function:
//   echo        -> {runtime: "node", data, metadata}
//   hang        -> emits "invoked", never answers
//   record      -> emits "invoked", appends the payload as a JSON line to `path` (if given)
//   fail        -> throws Error("node handler failed")
//   call        -> returns await trigger({function_id: data.target, payload: data.payload})
//   read_channel-> data.reader is a ChannelReader: {text: <everything read>, messages: [...]}
//   http        -> an HTTP response {status_code: 200, body: {runtime: "node", method, body}} (of the request)
import { appendFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { registerWorker } from 'iii-sdk'

// The SDK logs with console.debug/log, which would corrupt the JSON protocol on stdout.
for (const level of ['debug', 'log', 'info']) {
  console[level] = (...args) => process.stderr.write(`${args.map(String).join(' ')}\n`)
}

const workers = new Map()
const triggers = new Map()
let nextHandle = 1

function emit(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`)
}

function errorBody(err) {
  return { code: err?.code ?? 'DRIVER_ERROR', message: String(err?.message ?? err) }
}

function worker(cmd) {
  const w = workers.get(cmd.w)
  if (!w) throw new Error(`no worker named ${cmd.w}`)
  return w
}

async function waitConnected(w, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs
  while (!w.workerId || w.ws?.readyState !== 1) {
    if (Date.now() > deadline) throw new Error('worker did not connect')
    await new Promise((r) => setTimeout(r, 10))
  }
}

function handler(cmd) {
  const w = worker(cmd)
  const name = cmd.w
  const fid = cmd.id
  switch (cmd.kind) {
    case 'echo':
      return async (data, metadata) => ({ runtime: 'node', data, metadata: metadata ?? null })
    case 'hang':
      return async (data) => {
        emit({ event: 'invoked', w: name, function_id: fid, data })
        return await new Promise(() => {})
      }
    case 'record':
      return async (data, metadata) => {
        if (cmd.path) appendFileSync(cmd.path, `${JSON.stringify({ data, metadata: metadata ?? null })}\n`)
        emit({ event: 'invoked', w: name, function_id: fid, data, metadata: metadata ?? null })
        return null
      }
    case 'fail':
      return async () => {
        throw new Error('node handler failed')
      }
    case 'call':
      return async (data) => await w.trigger({ function_id: data.target, payload: data.payload })
    case 'http':
      return async (data) => ({ status_code: 200, body: { runtime: 'node', method: data.method, body: data.body } })
    case 'read_channel':
      return async (data) => {
        const messages = []
        data.reader.onMessage((m) => messages.push(m))
        const buf = await data.reader.readAll()
        return { text: buf.toString('utf8'), messages }
      }
    default:
      throw new Error(`unknown handler kind ${cmd.kind}`)
  }
}

const ops = {
  async connect(cmd) {
    const w = registerWorker(cmd.url, {
      workerName: cmd.name,
      enableMetricsReporting: false,
      otel: { enabled: false },
      invocationTimeoutMs: cmd.invocationTimeoutMs ?? 30000,
      reconnectionConfig: { initialDelayMs: 100, maxDelayMs: 500, jitterFactor: 0.1 },
    })
    workers.set(cmd.w, w)
    await waitConnected(w)
    return { worker_id: w.workerId }
  },
  async worker_id(cmd) {
    const w = worker(cmd)
    return { worker_id: w.workerId ?? null, open: w.ws?.readyState === 1 }
  },
  async register_function(cmd) {
    const options = {}
    if (cmd.description) options.description = cmd.description
    if (cmd.metadata) options.metadata = cmd.metadata
    worker(cmd).registerFunction(cmd.id, handler(cmd), options)
    return null
  },
  async trigger(cmd) {
    const request = { function_id: cmd.function_id, payload: cmd.payload }
    if (cmd.action) request.action = cmd.action
    if (cmd.metadata !== undefined) request.metadata = cmd.metadata
    if (cmd.timeoutMs) request.timeoutMs = cmd.timeoutMs
    const result = await worker(cmd).trigger(request)
    return result === undefined ? null : result
  },
  async register_trigger_type(cmd) {
    const name = cmd.w
    worker(cmd).registerTriggerType(
      { id: cmd.id, description: cmd.description ?? '' },
      {
        async registerTrigger(config) {
          emit({ event: 'register_trigger', w: name, trigger: config })
        },
        async unregisterTrigger(config) {
          emit({ event: 'unregister_trigger', w: name, trigger: config })
        },
      },
    )
    return null
  },
  async register_trigger(cmd) {
    const input = { type: cmd.type, function_id: cmd.function_id, config: cmd.config ?? {} }
    if (cmd.metadata) input.metadata = cmd.metadata
    const handle = nextHandle++
    triggers.set(handle, worker(cmd).registerTrigger(input))
    return { handle }
  },
  async unregister_trigger(cmd) {
    triggers.get(cmd.handle).unregister()
    return null
  },
  async shutdown(cmd) {
    const w = worker(cmd)
    workers.delete(cmd.w)
    await w.shutdown()
    return null
  },
  async exit() {
    for (const w of workers.values()) await w.shutdown().catch(() => {})
    setTimeout(() => process.exit(0), 10)
    return null
  },
}

const rl = createInterface({ input: process.stdin })
rl.on('line', (line) => {
  if (!line.trim()) return
  const cmd = JSON.parse(line)
  Promise.resolve()
    .then(() => {
      const op = ops[cmd.op]
      if (!op) throw new Error(`unknown op ${cmd.op}`)
      return op(cmd)
    })
    .then(
      (result) => emit({ rid: cmd.rid, ok: true, result: result ?? null }),
      (err) => emit({ rid: cmd.rid, ok: false, error: errorBody(err) }),
    )
})
rl.on('close', () => process.exit(0))
emit({ event: 'ready' })
