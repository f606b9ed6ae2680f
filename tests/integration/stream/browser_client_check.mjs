// Drives src/pyiii/static/stream-client.js (the browser module) under Node's WebSocket, writing with the Node SDK.
// Usage: node --experimental-websocket browser_client_check.mjs <engine url> <stream ws url> <stream name>
const sdkDir = process.env.NODE_SDK_DIR ?? new URL('../../interop/node', import.meta.url).pathname
const { registerWorker } = await import(`${sdkDir}/node_modules/iii-sdk/dist/index.mjs`)
const { StreamClient } = await import(new URL('../../../src/pyiii/static/stream-client.js', import.meta.url))

const [engineUrl, streamUrl, name] = process.argv.slice(2)
const worker = registerWorker(engineUrl, { workerName: 'browser-check' })
const set = (item_id, data) => worker.trigger({ function_id: 'stream::set', payload: { stream_name: name, group_id: 'g', item_id, data } })
await set('a', { id: 'a', n: 1 })

const client = new StreamClient(streamUrl)
const seen = []
let item = undefined
const customs = []
const done = new Promise((resolve) => {
  client.subscribeGroup(name, 'g', (items, change) => {
    seen.push({ type: change.type, items })
    if (change.type === 'delete') resolve()
  })
})
client.subscribeItem(name, 'g', 'b', (value) => { item = value })
client.onEvent(name, 'g', (type, data) => customs.push([type, data]))
await new Promise((r) => setTimeout(r, 300))
await set('b', { id: 'b', n: 2 })
await set('a', { id: 'a', n: 3 })
await worker.trigger({ function_id: 'stream::send', payload: { stream_name: name, group_id: 'g', type: 'hi', data: 7 } })
await worker.trigger({ function_id: 'stream::delete', payload: { stream_name: name, group_id: 'g', item_id: 'a' } })
await Promise.race([done, new Promise((r) => setTimeout(r, 5000))])
console.log(JSON.stringify({ seen, item, customs }))
client.close()
process.exit(0)
