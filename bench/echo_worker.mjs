// Benchmark worker (official Node iii-sdk): POST /echo returns the JSON body; with a route count R
// it also registers R static routes /r/<i>/items plus R/10 parameterised routes /p/<i>/:id.
// Usage: node echo_worker.mjs <engine ws url> <iii-sdk package dir> [R]
const [, , engineUrl, sdkPath, routes = '0'] = process.argv
const { registerWorker } = await import(`${sdkPath}/dist/index.mjs`)
const iii = registerWorker(engineUrl, { workerName: 'bench-echo' })
iii.registerFunction('bench::echo', async (req) => ({ status_code: 200, body: req.body }))
iii.registerTrigger({ type: 'http', function_id: 'bench::echo', config: { api_path: '/echo', http_method: 'POST' } })
const count = Number(routes)
for (let i = 0; i < count; i++) {
  iii.registerTrigger({ type: 'http', function_id: 'bench::echo', config: { api_path: `/r/${i}/items`, http_method: 'POST' } })
  if (i % 10 === 0) {
    iii.registerTrigger({ type: 'http', function_id: 'bench::echo', config: { api_path: `/p/${i}/:id`, http_method: 'POST' } })
  }
}
console.log('READY')
process.on('SIGTERM', () => process.exit(0))
