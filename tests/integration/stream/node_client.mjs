// Calls every state and stream function with the official Node SDK and prints the results as JSON.
// Usage: node node_client.mjs <engine url> <unique suffix>   (NODE_SDK_DIR = folder holding node_modules)
const sdkDir = process.env.NODE_SDK_DIR ?? new URL('../../interop/node', import.meta.url).pathname
const { registerWorker } = await import(`${sdkDir}/node_modules/iii-sdk/dist/index.mjs`)

const [url, suffix] = process.argv.slice(2)
const worker = registerWorker(url, { workerName: 'node-test' })
const call = (function_id, payload) => worker.trigger({ function_id, payload })
const scope = `node-${suffix}`
const item = { stream_name: `node-${suffix}`, group_id: 'g', item_id: 'i' }
const out = {}
try {
  out.state_set = await call('state::set', { scope, key: 'k', value: { n: 1 } })
  out.state_get = await call('state::get', { scope, key: 'k' })
  out.state_update = await call('state::update', { scope, key: 'k', ops: [{ type: 'increment', path: 'n', by: 2 }] })
  out.state_list = await call('state::list', { scope })
  out.state_groups = (await call('state::list_groups', {})).groups.includes(scope)
  out.state_delete = await call('state::delete', { scope, key: 'k' })
  out.stream_set = await call('stream::set', { ...item, data: { v: 1 } })
  out.stream_get = await call('stream::get', item)
  out.stream_update = await call('stream::update', { ...item, ops: [{ type: 'set', path: 'w', value: 2 }] })
  out.stream_list = await call('stream::list', { stream_name: item.stream_name, group_id: 'g' })
  out.stream_groups = await call('stream::list_groups', { stream_name: item.stream_name })
  out.stream_send = (await call('stream::send', { stream_name: item.stream_name, group_id: 'g', type: 't', data: 1 })) ?? null
  out.stream_delete = await call('stream::delete', item)
  try {
    await call('state::update', { scope, key: 'k', ops: [{ type: 'bogus' }] })
  } catch (err) {
    out.bad_op = err.code
  }
} finally {
  console.log(JSON.stringify(out))
  await worker.shutdown?.()
  process.exit(0)
}
