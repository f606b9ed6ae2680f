// Triggers: every registered trigger; run a cron job now; publish to a topic by hand.
import { api, badge, clear, fmt, h, jsonEditor, namespaceFilter, nsCell, pagedTable, toast } from '../lib.js'

const KIND = (t) => t.trigger_type === 'http' ? 'http' : t.trigger_type === 'cron' ? 'cron'
  : ['queue', 'durable:subscriber', 'subscribe'].includes(t.trigger_type) ? 'queue' : 'other'

export function summary(t) {
  const c = t.config ?? {}
  if (t.trigger_type === 'http') return `${c.http_method ?? 'GET'} /${String(c.api_path ?? '').replace(/^\//, '')}`
  if (t.trigger_type === 'cron') return c.expression
  if (c.topic) return `topic ${c.topic}`
  if (c.scope) return `scope ${c.scope}${c.key ? ' / ' + c.key : ''}`
  if (c.stream_name) return `stream ${c.stream_name}`
  return fmt.short(c, 60)
}

/** "in 3m 12s" / "12s ago" for an RFC 3339 time. */
function relative(iso) {
  const ms = Date.parse(iso) - Date.now()
  const s = Math.round(Math.abs(ms) / 1000)
  const text = s < 60 ? `${s}s` : s < 3600 ? `${Math.floor(s / 60)}m ${s % 60}s` : s < 86400 ? `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m` : `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`
  return ms >= 0 ? `in ${text}` : `${text} ago`
}

function nextRun(t) {
  if (KIND(t) !== 'cron') return ''
  const next = t.cron?.next_run
  if (!next) return h('span.muted', t.cron ? 'never again' : '–')
  return h('span', { 'data-next-run': next, title: `${new Date(next).toLocaleString()} (${t.cron.timezone ?? 'UTC'} schedule)` }, relative(next))
}

function lastRun(t) {
  if (KIND(t) !== 'cron') return ''
  const last = t.cron?.last_run
  if (!last) return h('span.muted', { 'data-last-run': '' }, 'not yet')
  const kind = { ok: 'good', error: 'bad', running: 'warn' }[last.status] ?? ''
  return h('span.nowrap', { 'data-last-run': last.scheduled_time, title: `${new Date(last.scheduled_time).toLocaleString()}${last.error ? ' · ' + last.error : ''}` },
    relative(last.scheduled_time), ' ', badge(last.status === 'ok' ? `ok · ${fmt.ms(last.duration_ms)}` : last.status, kind))
}

export default {
  id: 'triggers', title: 'Triggers', key: 't', icon: '⚡',
  mount(root, { params }) {
    let all = []
    let tab = params.tab ?? 'all'
    const tabs = h('div.tabs')
    const search = h('input', { type: 'search', placeholder: 'Search triggers  (/)' })
    const namespace = namespaceFilter('triggers', params, () => refresh())
    const topic = h('input', { placeholder: 'topic', value: params.topic ?? '', 'data-name': 'topic' })
    const kind = h('select', { 'data-name': 'kind' }, h('option', { value: 'queue' }, 'queue (durable)'), h('option', { value: 'pubsub' }, 'pubsub'))
    const data = jsonEditor({}, { rows: 5, name: 'publish-data' })
    const publishResult = h('div.result')
    const publish = async () => {
      try {
        const r = await api('publish', { topic: topic.value, kind: kind.value, data: data.value() })
        clear(publishResult, r.ok ? badge('published', 'good') : badge(r.error.message, 'bad'))
        if (r.ok) toast(`published to ${topic.value}`)
      } catch (e) { clear(publishResult, badge(e.message, 'bad')) }
    }
    const runCron = async (t) => {
      const r = await api('cron/run', { trigger_id: t.id })
      toast(r.ok ? `ran ${t.function_id} in ${fmt.ms(r.duration_ms)}` : `failed: ${r.error.message}`, r.ok ? 'info' : 'bad')
    }
    const table = pagedTable({
      name: 'triggers',
      columns: [
        { title: 'Type', render: (t) => badge(t.trigger_type, KIND(t)) },
        { title: 'Summary', className: 'nowrap', render: (t) => h('code', summary(t)) },
        { title: 'Function', className: 'clip-cell', render: (t) => h('code.clip', { title: t.function_id }, t.function_id) },
        { title: 'Namespace', className: 'nowrap', render: (t) => nsCell(t.namespace) },
        { title: 'Worker', className: 'nowrap', render: (t) => t.worker_name ?? '–' },
        { title: 'Next run', className: 'nowrap', render: nextRun },
        { title: 'Last run', className: 'nowrap', render: lastRun },
        { title: '', className: 'nowrap', render: (t) => KIND(t) === 'cron' ? h('button.small', { onclick: (e) => { e.stopPropagation(); runCron(t) }, 'data-action': 'run-now' }, '▶ Run now')
          : KIND(t) === 'queue' ? h('button.small', { onclick: (e) => { e.stopPropagation(); topic.value = t.config.topic; data.area.focus() } }, 'Publish…') : '' },
      ],
      onSelect: (t) => { if (KIND(t) === 'cron') runCron(t) },
    })
    clear(root, h('header.view-head', h('h1', 'Triggers'), h('div.toolbar', search, namespace)), tabs, table,
      h('div.card', h('h3', 'Publish to a topic'), h('div.row', topic, kind, h('button.primary', { onclick: publish, 'data-action': 'publish' }, 'Publish')), data, publishResult))

    const render = () => {
      const q = search.value.toLowerCase()
      const counts = { all: all.length, http: 0, cron: 0, queue: 0, other: 0 }
      all.forEach((t) => counts[KIND(t)]++)
      clear(tabs, Object.entries(counts).map(([k, n]) => h(`button.tab${k === tab ? '.active' : ''}`, { onclick: () => { tab = k; render() } }, `${k} `, h('span.count', n))))
      table.setRows(all.filter((t) => (tab === 'all' || KIND(t) === tab) && (!q || JSON.stringify(t).toLowerCase().includes(q)))
        .map((t) => ({ ...t, __key: t.id })))
    }
    async function refresh() {
      const ns = namespace.query()
      const r = await api(`triggers${ns ? '?' + ns : ''}`)
      all = r.registered_triggers
      namespace.setNamespaces(r.namespaces ?? [])
      render()
    }
    search.addEventListener('input', render)
    refresh()
    const timer = setInterval(refresh, 5000)
    const clock = setInterval(() => { if (tab === 'all' || tab === 'cron') render() }, 1000) // "in 12s" stays true
    return { unmount: () => { clearInterval(timer); clearInterval(clock) }, table: () => table, refresh }
  },
}
