// Overview: the first page — throughput, error rate, latency per function, dead letters,
// workers and the latest failures, refreshed every 3 s.
import { api, badge, clear, clip, DEFAULT_NS, fmt, h, nsCell, nsOf, pagedTable, shortId, svg } from '../lib.js'

const pct = (r) => `${(r * 100).toFixed(r > 0 && r < 0.1 ? 1 : 0)}%`

function stat(name, label, value, sub, kind = '', onclick = null) {
  return h(`div.stat${kind ? '.' + kind : ''}${onclick ? '.link' : ''}`, { 'data-stat': name, onclick, title: onclick ? 'open' : null },
    h('div.stat-label', label), h('div.stat-value', value), h('div.stat-sub', { title: sub }, sub))
}

/** Calls per minute over the last 30 minutes as bars (errors stacked in red). */
function throughputChart(points) {
  const W = 560, H = 90, now = Date.now()
  const slots = Array.from({ length: 30 }, (_, i) => ({ start: Math.floor(now / 60000) * 60000 - (29 - i) * 60000, count: 0, errors: 0 }))
  for (const p of points) {
    const slot = slots.find((s) => s.start === p.start_time)
    if (slot) { slot.count = p.count; slot.errors = p.errors }
  }
  const max = Math.max(1, ...slots.map((s) => s.count))
  const bw = W / slots.length
  const bars = slots.flatMap((s, i) => {
    const total = (s.count / max) * (H - 14)
    const bad = (s.errors / max) * (H - 14)
    const label = `${new Date(s.start).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}: ${s.count} calls, ${s.errors} errors`
    return [svg('rect', { x: i * bw + 1, y: H - total, width: bw - 2, height: total, class: 'bar' }, svg('title', {}, label)),
      s.errors ? svg('rect', { x: i * bw + 1, y: H - bad, width: bw - 2, height: bad, class: 'bar bad' }, svg('title', {}, label)) : null]
  })
  return [svg('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', role: 'img', 'aria-label': 'calls per minute, last 30 minutes' }, ...bars),
    h('div.chart-axis.muted.small', h('span', '30 min ago'),
      h('span', `peak ${fmt.num(max)}/min · ${fmt.num(slots.reduce((a, s) => a + s.count, 0))} invocations, engine functions included`), h('span', 'now'))]
}

export default {
  id: 'overview', title: 'Overview', key: 'o', icon: '◉',
  mount(root, { go }) {
    const status = h('span.muted.small')
    const stats = h('div.stats')
    const chart = h('div.card.chart-card')
    const workers = h('ul.list.compact')
    const dlq = h('ul.list.compact')
    const failedTraces = h('ul.list.compact.failures')
    const errorLogs = h('ul.list.compact.failures')
    const functions = pagedTable({
      name: 'overview-functions', pageSize: 12, empty: 'No calls yet: send a request or run a step.',
      columns: [
        { title: 'Function', className: 'clip-cell', render: (f) => clip(f.function_id, { tag: 'code' }) },
        { title: 'Worker', className: 'nowrap', render: (f) => f.worker ?? '–' },
        { title: 'Calls', className: 'num', render: (f) => fmt.num(f.calls) },
        { title: 'Errors', className: 'num', render: (f) => f.errors ? badge(`${fmt.num(f.errors)} · ${pct(f.errors / f.calls)}`, 'bad') : '0' },
        { title: 'p50', className: 'num', render: (f) => fmt.ms(f.p50_ms) },
        { title: 'p99', className: 'num', render: (f) => fmt.ms(f.p99_ms) },
      ],
      onSelect: (f) => go('functions', { q: f.function_id }),
    })
    clear(root, h('header.view-head', h('h1', 'Overview'), status),
      stats,
      h('div.overview-grid',
        h('div.col', h('div.card', h('h3', 'Invocations per minute · last 30 min'), chart), h('div.card', h('h3', 'Functions · latency'), functions)),
        h('div.col',
          h('div.card', h('h3', 'Recent failures'), h('h4', 'Traces'), failedTraces, h('h4', 'Error logs'), errorLogs),
          h('div.card', h('h3', 'Dead letters'), dlq),
          h('div.card', h('h3', 'Workers'), workers))))

    async function refresh() {
      let o
      try { o = await api('overview') } catch (e) { status.textContent = `error: ${e.message}`; return }
      const inv = o.invocations
      const slow = o.slowest
      clear(stats,
        stat('calls', 'Calls', fmt.num(inv.total), `your functions · ${fmt.num(inv.all_total)} in all`),
        stat('error-rate', 'Error rate', pct(inv.error_rate), `${fmt.num(inv.errors)} of ${fmt.num(inv.total)} calls failed`,
          inv.errors ? 'bad' : 'good', () => go('traces', { status: 'error' })),
        stat('latency', 'Slowest p99', fmt.ms(slow?.p99_ms), slow ? `${slow.function_id} · p50 ${fmt.ms(slow.p50_ms)}` : 'no calls yet'),
        stat('dlq', 'Dead letters', fmt.num(o.dlq.total), o.dlq.available ? `${o.dlq.topics.length} topic(s)` : 'no queue worker',
          o.dlq.total ? 'bad' : 'good', () => go('queues')),
        stat('workers', 'Workers', fmt.num(o.workers.length), `${o.workers.filter((w) => w.runtime !== 'engine').length} connected · ${o.workers.filter((w) => w.runtime === 'engine').length} built in`,
          '', () => go('workers')))
      clear(chart, o.observability ? throughputChart(o.throughput) : h('p.muted', 'iii-observability is not loaded: no metrics.'))
      functions.setRows(o.functions.map((f) => ({ ...f, __key: f.function_id })))
      clear(workers, o.workers.length ? o.workers.map((w) => h('li', { onclick: () => go('functions', { q: w.name, ns: nsOf(w) }), 'data-worker': w.name },
        h('span.grow', h('strong', w.name), ' ', badge(w.runtime ?? '?', w.runtime === 'engine' ? '' : 'good'),
          nsOf(w) === DEFAULT_NS ? null : [' ', nsCell(w.namespace)]),
        h('span.muted.small.nowrap', `${w.function_count ?? 0} fn · ${w.active_invocations ?? 0} in flight`))) : h('li.muted', 'No workers.'))
      clear(dlq, o.dlq.topics.length ? o.dlq.topics.map((d) => h('li', { onclick: () => go('queues'), 'data-dlq-topic': d.topic },
        h('code.grow', d.topic), badge(fmt.num(d.message_count), d.message_count ? 'bad' : ''))) : h('li.muted', 'No dead letters.'))
      const traces = o.failures.traces
      clear(failedTraces, traces.length ? traces.map((t) => h('li', { onclick: () => go('traces', { trace: t.trace_id }), 'data-failure-trace': t.trace_id },
        h('span.nowrap.muted.small', new Date(t.start_time_unix_nano / 1e6).toLocaleTimeString()), ' ',
        clip(t.name, { tag: 'code' }), h('span.grow'), badge(`${t.tags?.error_count ?? 1} error${(t.tags?.error_count ?? 1) > 1 ? 's' : ''}`, 'bad')))
        : h('li.muted', o.failures.traces_available ? 'No failed traces.' : 'Traces are not kept (iii-observability exporter: memory).'))
      const logs = o.failures.logs
      clear(errorLogs, logs.length ? logs.map((l) => h('li', { onclick: () => (l.trace_id ? go('traces', { trace: l.trace_id }) : go('logs', { level: 'ERROR' })), 'data-failure-log': '' },
        h('span.nowrap.muted.small', new Date(l.timestamp_unix_nano / 1e6).toLocaleTimeString()), ' ', clip(l.body),
        l.trace_id ? shortId(l.trace_id, 8) : null)) : h('li.muted', 'No error logs.'))
      status.textContent = `updated ${new Date().toLocaleTimeString()}`
    }
    refresh()
    const timer = setInterval(refresh, 3000)
    return { unmount: () => clearInterval(timer), table: () => functions, refresh }
  },
}
