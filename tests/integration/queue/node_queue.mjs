// Official Node iii-sdk against iii-queue: subscribe, publish (both names), enqueue.
// usage: node node_queue.mjs ENGINE_URL   -> prints one JSON line {received: [...], receipt, error}
import { TriggerAction, registerWorker } from 'iii-sdk'

for (const level of ['debug', 'log', 'info', 'warn']) {
  console[level] = (...args) => process.stderr.write(`${args.map(String).join(' ')}\n`)
}

const url = process.argv[2]
const w = registerWorker(url, { workerName: 'node-queue', enableMetricsReporting: false, otel: { enabled: false } })
const received = []
w.registerFunction('node.sub', async (data) => { received.push(data); return null })
w.registerFunction('node.job', async (data) => { received.push(data); return null })
w.registerTrigger({ type: 'durable:subscriber', function_id: 'node.sub', config: { topic: 'node-topic' } })

async function until(pred, ms = 15000) {
  const deadline = Date.now() + ms
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 20))
  }
}

const out = {}
try {
  await until(async () => {
    const r = await w.trigger({ function_id: 'engine::registered-triggers::list', payload: { function_id: 'node.sub' } })
    return r.registered_triggers.length > 0
  })
  await w.trigger({ function_id: 'iii::durable::publish', payload: { topic: 'node-topic', data: { n: 1 } } })
  await w.trigger({ function_id: 'enqueue', payload: { topic: 'node-topic', data: { n: 2 } } })
  out.receipt = await w.trigger({ function_id: 'node.job', payload: { n: 3 }, action: TriggerAction.Enqueue({ queue: 'default' }) })
  try {
    await w.trigger({ function_id: 'node.job', payload: {}, action: TriggerAction.Enqueue({ queue: 'missing' }) })
  } catch (err) {
    out.error = { code: err.code, message: err.message }
  }
  await until(async () => received.length >= 3)
  out.received = received.map((d) => d.n).sort()
} catch (err) {
  out.failure = String(err)
}
process.stdout.write(`${JSON.stringify(out)}\n`)
process.exit(0)
