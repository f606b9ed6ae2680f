import { queue, stateManager } from 'motia'

export const config = { name: 'NodeNotify', triggers: [queue('node.order.processed')], flows: ['node-orders'] }

export const handler = async (event: any, ctx: any) => {
  await stateManager.set('node-notified', event.id, { id: event.id, trace: Boolean(ctx.traceId) })
}
