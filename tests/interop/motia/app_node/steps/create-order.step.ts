import { http, enqueue, logger, stateManager, type ApiMiddleware } from 'motia'

const stamp: ApiMiddleware = async (_req, _ctx, next) => {
  const response = await next()
  if (response) response.headers = { ...(response.headers ?? {}), 'x-stamped': 'yes' }
  return response
}

export const config = {
  name: 'NodeCreateOrder',
  description: 'Store an order and hand it to the queue',
  triggers: [http('POST', '/node/orders', { middleware: [stamp] })],
  enqueues: ['node.order.created'],
  flows: ['node-orders'],
}

export const handler = async ({ request }: any) => {
  const { item, quantity } = request.body
  const order = { id: `${item}-${quantity}`, item, quantity, status: 'new' }
  await stateManager.set('node-orders', order.id, order)
  await enqueue({ topic: 'node.order.created', data: order })
  logger.info('order created', { id: order.id })
  return { status: 201, body: order }
}
