import { enqueue, queue, stateManager, Stream } from 'motia'
import { config as statusStream } from './order-status.stream'

export const config = {
  name: 'NodeProcessOrder',
  triggers: [queue('node.order.created')],
  enqueues: ['node.order.processed'],
  flows: ['node-orders'],
}

export const handler = async (order: any) => {
  await stateManager.set('node-orders', order.id, { ...order, status: 'processed' })
  await new Stream(statusStream).set('orders', order.id, { id: order.id, status: 'processed' })
  await enqueue({ topic: 'node.order.processed', data: { id: order.id } })
}
