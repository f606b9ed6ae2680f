// Official Node iii-sdk worker: node::middle logs, then calls pyiii::leaf (same trace).
// Usage: node node_official_worker.mjs <engine ws url> <path to the iii-sdk package>
const [, , engineUrl, sdkPath] = process.argv
const { registerWorker } = await import(`${sdkPath}/dist/index.mjs`)
const { Logger } = await import(`${sdkPath}/../@iii-dev/helpers/dist/observability/index.mjs`)

const iii = registerWorker(engineUrl, { workerName: 'node-official', otel: { serviceName: 'node-official' } })
const logger = new Logger()

iii.registerFunction('node::middle', async (input) => {
  logger.info('node middle', { step: 'node' })
  const out = await iii.trigger({ function_id: 'pyiii::leaf', payload: input })
  return { node: true, next: out }
})
setTimeout(() => console.log('READY'), 300)
