// Traces: a searchable list of traces and a waterfall of one, across workers and languages.
import { api, badge, clear, copyButton, fmt, h, pagedTable, shortId } from '../lib.js'

function flatten(nodes, depth = 0, out = []) {
  for (const n of nodes.sort((a, b) => a.start_time_unix_nano - b.start_time_unix_nano)) {
    out.push({ span: n, depth })
    flatten(n.children ?? [], depth + 1, out)
  }
  return out
}

const statusOf = (s) => (typeof s.status === 'string' ? s.status : s.status?.code ?? 'unset').toLowerCase()
const attrs = (s) => Array.isArray(s.attributes) ? s.attributes : Object.entries(s.attributes ?? {})

const spanMs = (s) => ((s.end_time_unix_nano || s.start_time_unix_nano) - s.start_time_unix_nano) / 1e6

/** Round tick steps (1, 2, 5 × 10^n ms) giving about five ticks over `totalMs`. */
function ticks(totalMs) {
  const raw = totalMs / 5
  const base = 10 ** Math.floor(Math.log10(raw || 1))
  const step = [1, 2, 5, 10].map((m) => m * base).find((v) => v >= raw) ?? raw
  const out = []
  for (let t = 0; t <= totalMs * 0.86; t += step) out.push(t)
  return out // the end of the axis is labelled with the total (see waterfall)
}

function waterfall(roots) {
  const rows = flatten(roots)
  if (!rows.length) return h('p.empty', 'No spans.')
  const t0 = Math.min(...rows.map((r) => r.span.start_time_unix_nano))
  const t1 = Math.max(...rows.map((r) => r.span.end_time_unix_nano || r.span.start_time_unix_nano))
  const total = Math.max(1, t1 - t0)
  const totalMs = total / 1e6
  const detail = h('div.span-detail')
  const pick = (s) => clear(detail, h('h4', s.name), h('dl', h('dt', 'service'), h('dd', s.service_name ?? '–'), h('dt', 'duration'),
    h('dd', fmt.ms(spanMs(s))), h('dt', 'starts at'), h('dd', `+${fmt.ms((s.start_time_unix_nano - t0) / 1e6)}`),
    h('dt', 'status'), h('dd', statusOf(s), s.status_description ? h('span.error', ` · ${s.status_description}`) : null),
    h('dt', 'span'), h('dd', shortId(s.span_id, 16))),
  h('table.attrs', attrs(s).map(([k, v]) => h('tr', h('td', h('code', k)), h('td', String(v).includes('\n') ? h('pre.stack', String(v)) : fmt.short(v, 200))))),
  (s.events ?? []).length ? [h('h4', 'Events'), h('pre.code', fmt.json(s.events))] : null)
  const services = [...new Set(rows.map((r) => r.span.service_name))]
  const axis = h('div.wf-row.wf-axis', h('div.wf-name.muted.small', 'span'),
    h('div.wf-track', ticks(totalMs).map((t) => h('span.wf-tick', { style: `left:${(t / totalMs) * 100}%` }, fmt.ms(t))),
      h('span.wf-tick.end', { style: 'left:100%' }, fmt.ms(totalMs))),
    h('div.wf-dur.muted.small', 'duration'))
  const box = h('div.waterfall', h('div.wf-head', h('span', `${rows.length} spans · ${fmt.ms(totalMs)} · `), services.map((sv, i) => h(`span.svc.svc-${i % 6}`, sv ?? '?'))),
    axis,
    rows.map(({ span, depth }) => {
      const left = ((span.start_time_unix_nano - t0) / total) * 100
      const width = Math.max(0.4, (((span.end_time_unix_nano || span.start_time_unix_nano) - span.start_time_unix_nano) / total) * 100)
      const failed = statusOf(span) === 'error'
      return h(`div.wf-row${failed ? '.failed' : ''}`, { onclick: () => pick(span), 'data-span': span.span_id },
        h('div.wf-name', { style: `padding-left:${depth * 14 + 6}px`, title: `${span.name} · ${span.service_name ?? ''}` }, h('span', span.name), h('span.muted.small', ` ${span.service_name ?? ''}`)),
        h('div.wf-track', h('div.wf-grid'), h(`div.wf-bar.svc-${services.indexOf(span.service_name) % 6}${failed ? '.error' : ''}`,
          { style: `left:${left}%;width:${width}%`, title: `${span.name}: ${fmt.ms(spanMs(span))} at +${fmt.ms((span.start_time_unix_nano - t0) / 1e6)}` })),
        h('div.wf-dur', { 'data-duration': '' }, fmt.ms(spanMs(span))))
    }), detail)
  pick(rows[0].span)
  return box
}

export default {
  id: 'traces', title: 'Traces', key: 'r', icon: '≋',
  mount(root, { go, params }) {
    const search = h('input', { type: 'search', placeholder: 'Search name, service, attribute  (/)' })
    const status = h('select', { 'data-name': 'status', title: 'error: traces with a failed span anywhere' }, ['', 'ok', 'error', 'unset'].map((s) => h('option', { value: s, selected: s === (params.status ?? '') }, s || 'any status')))
    const traceId = h('input', { placeholder: 'trace id', value: params.trace ?? '', 'data-name': 'trace' })
    const info = h('span.muted.small')
    const detail = h('div.detail-pane.wide', h('p.muted', 'Select a trace to see its waterfall.'))
    const table = pagedTable({
      name: 'traces', pageSize: 50,
      columns: [
        { title: 'Start', className: 'nowrap', render: (s) => new Date(s.start_time_unix_nano / 1e6).toLocaleTimeString() },
        { title: 'Root span', className: 'clip-cell', render: (s) => h('code.clip', { title: s.name }, s.name) },
        { title: 'Services', className: 'nowrap', render: (s) => (s.tags?.services ?? [s.service_name]).join(', ') },
        { title: 'Spans', className: 'num', render: (s) => s.tags?.span_count ?? '–' },
        { title: 'Duration', className: 'num', render: (s) => fmt.ms(s.tags?.duration_ms ?? (s.end_time_unix_nano - s.start_time_unix_nano) / 1e6) },
        { title: 'Status', render: (s) => (s.tags?.error_count ?? 0) > 0 || statusOf(s) === 'error' ? badge('error', 'bad') : badge('ok', 'good') },
        { title: 'Trace', className: 'nowrap', render: (s) => shortId(s.trace_id, 10) },
      ],
      onSelect: (s) => open(s.trace_id),
    })
    clear(root, h('header.view-head', h('h1', 'Traces'), h('div.toolbar', search, status, traceId, info)), h('div.split.traces', table, detail))

    async function open(id) {
      clear(detail, h('p.muted', 'loading…'))
      try {
        const tree = await api('traces/tree', { trace_id: id })
        clear(detail, h('div.trace-head', h('h3.trace-title', 'Trace ', h('code.clip', { title: id, 'data-trace-id': id }, id), copyButton(id)),
          h('button.small', { onclick: () => go('logs', { trace: id }) }, 'logs of this trace')), waterfall(tree.roots ?? []))
      } catch (e) { clear(detail, h('p.error', e.message)) }
    }
    async function refresh() {
      try {
        const r = await api('traces', { limit: 1000, sort_order: 'desc', search: search.value.trim() || null, status: status.value || null, trace_id: traceId.value.trim() || null })
        table.setRows(r.spans.map((s) => ({ ...s, __key: s.trace_id })))
        info.textContent = `${fmt.num(r.total)} traces · ${new Date().toLocaleTimeString()}`
        if (traceId.value.trim() && r.spans.length && !detail.querySelector('.waterfall')) open(r.spans[0].trace_id)
      } catch (e) { info.textContent = `error: ${e.message}` }
    }
    for (const el of [search, status, traceId]) el.addEventListener('input', refresh)
    refresh()
    const timer = setInterval(refresh, 3000)
    return { unmount: () => clearInterval(timer), table: () => table, refresh }
  },
}
