// Endpoints: every HTTP route, and a request runner (method, path params, query, headers, body).
import { api, badge, clear, exampleFor, fmt, h, jsonEditor, pagedTable, parsePairs, prettyBody } from '../lib.js'

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']

export default {
  id: 'endpoints', title: 'Endpoints', key: 'e', icon: '⇢',
  mount(root, { go }) {
    let all = []
    const search = h('input', { type: 'search', placeholder: 'Search routes  (/)' })
    const runner = h('div.detail-pane', h('p.muted', 'Select a route to send a request.'))
    const table = pagedTable({
      name: 'endpoints',
      columns: [
        { title: 'Method', render: (r) => badge(r.method, `m-${r.method.toLowerCase()}`) },
        { title: 'Path', className: 'nowrap', render: (r) => h('code', r.path) },
        { title: 'Function', className: 'clip-cell', render: (r) => h('code.muted.clip', { title: r.function_id }, r.function_id) },
      ],
      onSelect: (r) => open(r),
    })
    clear(root, h('header.view-head', h('h1', 'Endpoints'), h('div.toolbar', search)), h('div.split', table, runner))

    async function open(route) {
      const method = h('select', { 'data-name': 'method' }, METHODS.map((m) => h('option', { value: m, selected: m === route.method }, m)))
      const names = [...route.path.matchAll(/:([A-Za-z0-9_]+)|\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1] ?? m[2])
      const inputs = Object.fromEntries(names.map((n) => [n, h('input', { placeholder: n, 'data-param': n })]))
      const query = h('textarea', { rows: 2, placeholder: 'key=value, one a line', 'data-name': 'query' })
      const headers = h('textarea', { rows: 2, placeholder: 'Header-Name: value, one a line', 'data-name': 'headers' })
      const info = await api('function', { function_id: route.function_id }).catch(() => ({}))
      const bodySchema = info.metadata?.triggers?.find((t) => t.bodySchema)?.bodySchema ?? info.request_schema?.properties?.body
      const body = jsonEditor(bodySchema ? exampleFor(bodySchema) : (['GET', 'HEAD', 'DELETE'].includes(route.method) ? '' : {}), { rows: 8, name: 'body' })
      const url = h('code.url')
      const result = h('div.result')
      const path = () => route.path.replace(/:([A-Za-z0-9_]+)|\{([A-Za-z0-9_]+)\}/g, (_, a, b) => encodeURIComponent(inputs[a ?? b].value || `:${a ?? b}`))
      const preview = () => {
        const q = new URLSearchParams(parsePairs(query.value, '=')).toString()
        url.textContent = `${method.value} ${path()}${q ? '?' + q : ''}`
      }
      const send = async () => {
        let payload
        try { payload = body.value() } catch (e) { clear(result, h('p.error', `invalid JSON body: ${e.message}`)); return }
        clear(result, h('p.muted', 'sending…'))
        const r = await fetch('/api/request', {
          method: 'POST', headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ method: method.value, path: path(), query: parsePairs(query.value, '='), headers: parsePairs(headers.value, ':'),
            body: ['GET', 'HEAD'].includes(method.value) ? null : payload }),
        }).then((x) => x.json())
        const kind = r.status >= 500 || r.status === 0 ? 'bad' : r.status >= 400 ? 'warn' : 'good'
        const traceId = (r.headers?.traceparent ?? r.headers?.Traceparent ?? '').split('-')[1]
        clear(result, h('div.result-head', badge(String(r.status), kind), h('span', { 'data-status': r.status }, ` ${fmt.ms(r.duration_ms)}`),
          traceId ? h('button.small', { onclick: () => go('traces', { trace: traceId }) }, 'view trace') : null),
        h('pre.code', { 'data-response': '' }, prettyBody(r.body)),
        h('details', h('summary', 'Response headers'), h('pre.code', Object.entries(r.headers ?? {}).map(([k, v]) => `${k}: ${v}`).join('\n'))))
      }
      ;[method, query, ...Object.values(inputs)].forEach((el) => el.addEventListener('input', preview))
      preview()
      clear(runner, h('h3', badge(route.method, `m-${route.method.toLowerCase()}`), ' ', h('code', route.path)),
        h('p.muted.small', 'Sent through the console to the engine\'s HTTP port. ', h('code', route.function_id)),
        h('div.row', method, url),
        names.length ? h('div.params', h('h4', 'Path parameters'), names.map((n) => h('label.field', h('span', n), inputs[n]))) : null,
        h('h4', 'Query'), query, h('h4', 'Headers'), headers, h('h4', 'JSON body'), body,
        h('div.actions', h('button.primary', { onclick: send, 'data-action': 'send' }, 'Send')), result)
    }
    const render = () => {
      const q = search.value.toLowerCase()
      table.setRows(all.filter((r) => !q || `${r.method} ${r.path} ${r.function_id}`.toLowerCase().includes(q)))
    }
    async function refresh() {
      const triggers = (await api('triggers')).registered_triggers.filter((t) => t.trigger_type === 'http')
      all = triggers.map((t) => ({ __key: t.id, id: t.id, method: (t.config.http_method ?? 'GET').toUpperCase(),
        path: '/' + String(t.config.api_path ?? '').replace(/^\//, ''), function_id: t.function_id }))
        .sort((a, b) => a.path.localeCompare(b.path) || a.method.localeCompare(b.method))
      render()
    }
    search.addEventListener('input', render)
    refresh()
    return { table: () => table, refresh }
  },
}
