import { http, stateManager, Stream, type ApiMiddleware } from 'motia'
import { config as statusStream } from './order-status.stream'

const requireKey: ApiMiddleware = async ({ request }, _ctx, next) => {
  if (request.headers['x-key'] !== 'secret') return { status: 401, body: { error: 'Unauthorized' } }
  return next()
}

export const config = {
  name: 'NodeGetOrder',
  triggers: [http('GET', '/node/orders/:id', { middleware: [requireKey] })],
  flows: ['node-orders'],
}

export const handler = async ({ request }: any) => {
  const id = request.pathParams.id
  const order = await stateManager.get('node-orders', id)
  if (!order) return { status: 404, body: { error: 'not found' } }
  const stream = await new Stream(statusStream).get('orders', id)
  return { status: 200, body: { order, stream } }
}
