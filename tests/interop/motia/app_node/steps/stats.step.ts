import { http, stateManager } from 'motia'

export const config = { name: 'NodeStats', triggers: [http('GET', '/node/stats')], flows: ['node-clock'] }

export const handler = async () => {
  const ticks = ((await stateManager.get('node-ticks', 'count')) as number | null) ?? 0
  const notified = ((await stateManager.list('node-notified')) as { id: string }[]).map((n) => n.id).sort()
  return { status: 200, body: { ticks, notified } }
}
