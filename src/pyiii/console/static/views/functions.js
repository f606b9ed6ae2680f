// Functions: every registered function with its namespace and invocation counts; invoke one
// (in its own namespace) with a JSON payload.
import { api, badge, clear, cleanNs, clip, exampleFor, fmt, h, jsonEditor, localColumn, namespaceFilter, nsCell, nsOf, pagedTable, rememberParam } from '../lib.js'

export default {
  id: 'functions', title: 'Functions', key: 'f', icon: 'ƒ',
  mount(root, { params }) {
    let all = []
    const search = h('input', { type: 'search', placeholder: 'Search functions  (/)', value: params.q ?? '' })
    const system = h('input', { type: 'checkbox' })
    const namespace = namespaceFilter('functions', params, () => refresh())
    const detail = h('div.detail-pane', h('p.muted', 'Select a function (j/k, Enter) to see its schema and invoke it.'))
    const table = pagedTable({
      name: 'functions',
      columns: [
        { title: 'Function', className: 'clip-cell', render: (f) => clip(f.function_id, { tag: 'code' }) },
        { title: 'Namespace', className: 'nowrap', render: (f) => nsCell(f.namespace) },
        { title: 'Worker', className: 'nowrap', render: (f) => f.worker_name ?? '–' },
        { title: 'Calls', className: 'num', render: (f) => fmt.num(f.invocations) },
        localColumn,
        { title: 'Errors', className: 'num', render: (f) => f.errors ? badge(fmt.num(f.errors), 'bad') : '0' },
        { title: 'Avg', className: 'num', render: (f) => fmt.ms(f.avg_ms) },
        { title: 'Description', className: 'clip-cell', render: (f) => h('span.muted', clip(f.description ?? '')) },
      ],
      onSelect: (f) => open(f.function_id, nsOf(f)),
    })
    clear(root, h('header.view-head', h('h1', 'Functions'), h('div.toolbar', search, namespace, h('label.check', system, ' show system functions'))),
      h('div.split', table, detail))

    const filter = () => {
      const q = search.value.toLowerCase()
      table.setRows(all.filter((f) => !q || f.function_id.toLowerCase().includes(q) || (f.worker_name ?? '').toLowerCase().includes(q))
        .map((f) => ({ ...f, __key: `${nsOf(f)}\u0000${f.function_id}` })))
    }
    async function refresh() {
      const ns = namespace.query()
      const r = await api(`functions?internal=${system.checked ? 1 : 0}${ns ? '&' + ns : ''}`)
      all = r.functions
      namespace.setNamespaces(r.namespaces ?? [])
      filter()
    }
    // ns: the function's namespace ('' lets the engine pick: default first, then the only one)
    async function open(id, ns) {
      clear(detail, h('p.muted', 'loading…'))
      rememberParam('functions', 'id', id)
      rememberParam('functions', 'in', ns)
      let info
      try {
        info = await api('function', ns ? { function_id: id, namespace: ns } : { function_id: id })
      } catch (e) { clear(detail, h('p.error', { 'data-error': 'function' }, e.message)); return }
      const where = nsOf(info)
      const schema = info.request_schema ?? info.metadata?.triggers?.find((t) => t.bodySchema)?.bodySchema
      const editor = jsonEditor(schema ? exampleFor(schema) : {}, { rows: 10, name: 'payload' })
      const result = h('div.result')
      const invoke = async () => {
        let input
        try { input = editor.value() } catch (e) { clear(result, h('p.error', `invalid JSON: ${e.message}`)); return }
        clear(result, h('p.muted', 'invoking…'))
        const r = await api('invoke', { function_id: id, namespace: where, input })
        clear(result, h('div.result-head', r.ok ? badge('ok', 'good') : badge(r.error.code, 'bad'), ` ${fmt.ms(r.duration_ms)}`),
          h('pre.code', { 'data-result': id, 'data-namespace': where }, r.ok ? fmt.json(r.result) : r.error.message))
        refresh()
      }
      clear(detail, h('h3', { 'data-function': id, 'data-namespace': where }, h('code', id), ' ', nsCell(where)), info.description ? h('p', info.description) : null,
        h('dl', h('dt', 'namespace'), h('dd', nsCell(where)), h('dt', 'worker'), h('dd', info.worker_name ?? '–'),
          info.metadata?.filePath ? [h('dt', 'file'), h('dd', h('code', info.metadata.filePath))] : null,
          h('dt', 'triggers'), h('dd', (info.registered_triggers ?? []).map((t) => h('div', badge(t.trigger_type), ' ', h('code', fmt.short(t.config, 60)))))),
        h('h4', 'Invoke', where === 'default' ? '' : ` in ${where}`), schema ? h('p.muted.small', 'Payload prefilled from the request schema.') : null, editor,
        h('div.actions', h('button.primary', { onclick: invoke, 'data-action': 'invoke' }, 'Invoke')), result,
        schema ? h('details', h('summary', 'Request schema'), h('pre.code', fmt.json(schema))) : null,
        info.metadata ? h('details', h('summary', 'Metadata'), h('pre.code', fmt.json(info.metadata))) : null)
    }
    search.addEventListener('input', filter)
    system.addEventListener('change', refresh)
    refresh().then(() => { if (params.id) open(params.id, cleanNs(params.in) || cleanNs(params.ns)) })
    const timer = setInterval(refresh, 5000)
    return { unmount: () => clearInterval(timer), table: () => table, refresh }
  },
}
