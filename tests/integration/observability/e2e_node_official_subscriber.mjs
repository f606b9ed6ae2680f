// Official Node iii-sdk worker (OTel on by default): durable subscriber of `e2e.orders` that
// stores each order with state::set.
// Usage: node e2e_node_official_subscriber.mjs <engine ws url> <path to the iii-sdk package>
const [, , engineUrl, sdkPath] = process.argv
const { registerWorker } = await import(`${sdkPath}/dist/index.mjs`)

const iii = registerWorker(engineUrl, { workerName: 'e2e-node-sub', otel: { serviceName: 'e2e-node-sub' } })

iii.registerFunction('e2e::store_order', async (order) => {
  await iii.trigger({ function_id: 'state::set', payload: { scope: 'e2e_orders', key: order.id, value: order } })
  return null
})
iii.registerTrigger({ type: 'durable:subscriber', function_id: 'e2e::store_order', config: { topic: 'e2e.orders' } })
setTimeout(() => console.log('READY'), 300)
