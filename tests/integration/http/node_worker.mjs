// An official Node iii-sdk worker with three HTTP routes; the test drives them over HTTP.
// Usage: node node_worker.mjs <engine ws url> <path to the iii-sdk package>
const [, , engineUrl, sdkPath] = process.argv
const { registerWorker } = await import(`${sdkPath}/dist/index.mjs`)

const iii = registerWorker(engineUrl, { workerName: 'node-http-test' })

iii.registerFunction('node::echo', async (req) => ({
  statusCode: 201,
  headers: { 'x-runtime': 'node' },
  body: { params: req.path_params, query: req.query_params, body: req.body },
}))

iii.registerFunction('node::upload', async (req) => {
  const data = await req.request_body.readAll()
  return { status_code: 200, body: { size: data.length, first: data.subarray(0, 3).toString() } }
})

iii.registerFunction('node::stream', async (req) => {
  req.response.sendMessage(JSON.stringify({ type: 'set_status', status_code: 206 }))
  req.response.sendMessage(JSON.stringify({ type: 'set_headers', headers: { 'content-type': 'text/plain' } }))
  for (let i = 0; i < 50; i++) req.response.stream.write(Buffer.from(`line ${i}\n`))
  req.response.stream.end()
  return null
})

iii.registerTrigger({ type: 'http', function_id: 'node::echo', config: { api_path: '/node/:id', http_method: 'POST' } })
iii.registerTrigger({ type: 'http', function_id: 'node::upload', config: { api_path: '/node-upload', http_method: 'PUT' } })
iii.registerTrigger({ type: 'http', function_id: 'node::stream', config: { api_path: '/node-stream' } })
console.log('READY')
process.on('SIGTERM', () => process.exit(0))
