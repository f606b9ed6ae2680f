// The agent's weather tool: a TypeScript worker on the official Node iii-sdk, run with tsx by iii-exec.
// metadata.agent_tool marks it for discovery; request_format tells the model how to call it.
import { registerWorker, type IIIClient } from 'iii-sdk'
import type { RegisterFunctionOptions } from 'iii-sdk/protocol'

interface ForecastRequest {
  city?: unknown
}

interface Forecast {
  city: string
  summary: Summary
  temperature_c: number
  source: 'node'
}

const iii: IIIClient = registerWorker(process.env.III_URL ?? 'ws://127.0.0.1:49134', { workerName: 'weather-tool' })

// Deterministic "weather": the same city always gets the same forecast (no network here).
const SUMMARIES = ['sunny', 'cloudy', 'rainy', 'windy', 'foggy'] as const
type Summary = (typeof SUMMARIES)[number]

function forecast(city: string): Forecast {
  let h = 0
  for (const ch of city.toLowerCase()) h = (h * 31 + ch.charCodeAt(0)) >>> 0
  const summary: Summary = SUMMARIES[h % SUMMARIES.length]
  return { city, summary, temperature_c: 5 + (h % 25), source: 'node' }
}

const options: RegisterFunctionOptions = {
  description: 'Current weather for a city (temperature in °C and a one-word summary)',
  metadata: { agent_tool: true },
  request_format: {
    type: 'object',
    properties: { city: { type: 'string', description: 'city name, e.g. Paris' } },
    required: ['city'],
  },
  response_format: {
    type: 'object',
    properties: { city: { type: 'string' }, summary: { type: 'string' }, temperature_c: { type: 'number' } },
  },
}

iii.registerFunction(
  'tools::weather::forecast',
  async (data: ForecastRequest | null | undefined): Promise<Forecast> => {
    if (!data?.city || typeof data.city !== 'string') throw new Error('city is required')
    return forecast(data.city)
  },
  options,
)

const stop = async (): Promise<never> => {
  await iii.shutdown()
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
