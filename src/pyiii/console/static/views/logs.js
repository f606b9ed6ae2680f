// Logs: a live tail of the engine's log store, filtered by level, function, trace id and text.
import { api, badge, clear, fmt, h, pagedTable, shortId } from '../lib.js'

const LEVELS = { '': null, DEBUG: 5, INFO: 9, WARN: 13, ERROR: 17 }
const FETCH_LIMIT = 2000 // newest first; paged in the browser

/** Attribute values holding several lines (stack traces) are shown preformatted, not as JSON. */
function attributeTable(attributes) {
  const entries = Object.entries(attributes ?? {})
  if (!entries.length) return h('p.muted', 'none')
  return h('table.attrs', entries.map(([k, v]) => h('tr', h('td', h('code', k)),
    h('td', typeof v === 'string' && v.includes('\n') ? h('pre.stack', { 'data-attr': k }, v) : typeof v === 'string' ? v : fmt.json(v)))))
}

const fnOf = (log) => log.attributes?.['iii.function.id'] ?? log.attributes?.function_id ?? log.service_name ?? ''

export default {
  id: 'logs', title: 'Logs', key: 'l', icon: '☰',
  mount(root, { go, params }) {
    const level = h('select', { 'data-name': 'level' }, Object.keys(LEVELS).map((l) => h('option', { value: l, selected: l === (params.level ?? '') }, l || 'all levels')))
    const fn = h('input', { placeholder: 'function / service', 'data-name': 'function' })
    const trace = h('input', { placeholder: 'trace id', value: params.trace ?? '', 'data-name': 'trace' })
    const text = h('input', { type: 'search', placeholder: 'Search text  (/)' })
    const live = h('input', { type: 'checkbox', checked: true })
    const status = h('span.muted.small')
    const detail = h('div.detail-pane', h('p.muted', 'Select a log line to see its attributes.'))
    const sev = (l) => (l.severity_text ?? '').toUpperCase()
    const table = pagedTable({
      name: 'logs', pageSize: 100,
      rowClass: (l) => `sev-${sev(l).toLowerCase()}`,
      columns: [
        { title: 'Time', className: 'nowrap', render: (l) => new Date(l.timestamp_unix_nano / 1e6).toLocaleTimeString() },
        { title: 'Level', render: (l) => badge(sev(l) || '–', { ERROR: 'bad', WARN: 'warn', INFO: 'good' }[sev(l)] ?? '') },
        { title: 'Source', className: 'nowrap', render: (l) => h('code', fmt.short(fnOf(l), 28)) },
        { title: 'Message', className: 'clip-cell wide', render: (l) => h('span.clip', { title: String(l.body ?? '') }, fmt.short(l.body, 300), l.attributes?.['exception.stacktrace'] ? h('span.muted.small', ` · ${l.attributes['exception.type'] ?? 'exception'}`) : null) },
        { title: 'Trace', className: 'nowrap', render: (l) => l.trace_id ? h('span.trace-cell',
          h('a', { href: '#', title: `only the logs of trace ${l.trace_id}`, onclick: (e) => { e.preventDefault(); e.stopPropagation(); trace.value = l.trace_id; refresh() } }, l.trace_id.slice(0, 8)), ' ',
          h('a.trace-link', { href: `#/traces?trace=${encodeURIComponent(l.trace_id)}`, title: `open trace ${l.trace_id}`, 'data-trace-link': l.trace_id, onclick: (e) => e.stopPropagation() }, 'trace ↗')) : '' },
      ],
      onSelect: (l) => {
        const { 'exception.stacktrace': stack, ...rest } = l.attributes ?? {}
        clear(detail, String(l.body ?? '').includes('\n') ? h('pre.stack', l.body) : h('h3', fmt.short(l.body, 200)),
          h('dl', h('dt', 'time'), h('dd', new Date(l.timestamp_unix_nano / 1e6).toISOString()), h('dt', 'level'), h('dd', sev(l)),
            h('dt', 'service'), h('dd', l.service_name ?? '–'), h('dt', 'trace'),
            h('dd', l.trace_id ? [h('a', { href: `#/traces?trace=${encodeURIComponent(l.trace_id)}`, 'data-trace-link': l.trace_id }, 'open trace ↗'), ' ', shortId(l.trace_id, 16)] : '–')),
          stack ? [h('h4', `Stack trace${rest['exception.type'] ? ' · ' + rest['exception.type'] : ''}`), h('pre.stack', { 'data-stack': '' }, stack)] : null,
          h('h4', 'Attributes'), attributeTable(rest), h('h4', 'Resource'), attributeTable(l.resource))
      },
    })
    clear(root, h('header.view-head', h('h1', 'Logs'), h('div.toolbar', text, level, fn, trace, h('label.check', live, ' live'), status)),
      h('div.split', table, detail))

    async function refresh() {
      try {
        const r = await api('logs', { limit: FETCH_LIMIT, severity_min: LEVELS[level.value], trace_id: trace.value.trim() || null, search: text.value.trim() || null })
        const f = fn.value.trim().toLowerCase()
        const rows = r.logs.filter((l) => !f || fnOf(l).toLowerCase().includes(f) || (l.service_name ?? '').toLowerCase().includes(f))
        table.setRows(rows.map((l, i) => ({ ...l, __key: `${l.timestamp_unix_nano}-${l.span_id}-${i}` })))
        status.textContent = `${fmt.num(r.total)} stored · ${new Date().toLocaleTimeString()}`
      } catch (e) { status.textContent = `error: ${e.message}` }
    }
    for (const el of [level, fn, trace, text]) el.addEventListener('input', refresh)
    refresh()
    const timer = setInterval(() => { if (live.checked) refresh() }, 1500)
    return { unmount: () => clearInterval(timer), table: () => table, refresh }
  },
}
