// The orders example's fraud check: a TypeScript worker on the official Node iii-sdk, run with tsx.
// The Python queue step calls it with ctx.call('fraud::check', order).
import { registerWorker, type IIIClient } from 'iii-sdk'
import type { RegisterFunctionOptions } from 'iii-sdk/protocol'

/** The part of an order the check reads (the queue step sends the whole order). */
interface Order {
  quantity?: number | string
  unit_price?: number | string
  [key: string]: unknown
}

interface FraudResult {
  score: number
  flagged: boolean
  checked_by: 'node'
}

const iii: IIIClient = registerWorker(process.env.III_URL ?? 'ws://127.0.0.1:49134', { workerName: 'fraud-check' })

async function check(order: Order): Promise<FraudResult> {
  const amount = Number(order.quantity ?? 0) * Number(order.unit_price ?? 0)
  const score = Math.min(1, amount / 10000)
  return { score, flagged: score >= 0.8, checked_by: 'node' }
}

const options: RegisterFunctionOptions = { description: 'Score an order: the bigger the amount, the riskier' }

iii.registerFunction('fraud::check', check, options)

const stop = async (): Promise<never> => {
  await iii.shutdown()
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
