import { cron, stateManager } from 'motia'

export const config = { name: 'NodeTick', triggers: [cron('* * * * * *')], flows: ['node-clock'] }

export const handler = async () => {
  const count = ((await stateManager.get('node-ticks', 'count')) as number | null) ?? 0
  await stateManager.set('node-ticks', 'count', count + 1)
}
