// Functions: every registered function with invocation counts; invoke one with a JSON payload.
import { api, badge, clear, clip, exampleFor, fmt, h, jsonEditor, pagedTable } from '../lib.js'

export default {
  id: 'functions', title: 'Functions', key: 'f', icon: 'ƒ',
  mount(root, { params }) {
    let all = []
    const search = h('input', { type: 'search', placeholder: 'Search functions  (/)', value: params.q ?? '' })
    const system = h('input', { type: 'checkbox' })
    const detail = h('div.detail-pane', h('p.muted', 'Select a function (j/k, Enter) to see its schema and invoke it.'))
    const table = pagedTable({
      name: 'functions',
      columns: [
        { title: 'Function', className: 'clip-cell', render: (f) => clip(f.function_id, { tag: 'code' }) },
        { title: 'Worker', className: 'nowrap', render: (f) => f.worker_name ?? '–' },
        { title: 'Calls', className: 'num', render: (f) => fmt.num(f.invocations) },
        { title: 'Errors', className: 'num', render: (f) => f.errors ? badge(fmt.num(f.errors), 'bad') : '0' },
        { title: 'Avg', className: 'num', render: (f) => fmt.ms(f.avg_ms) },
        { title: 'Description', className: 'clip-cell', render: (f) => h('span.muted', clip(f.description ?? '')) },
      ],
      onSelect: (f) => open(f.function_id),
    })
    clear(root, h('header.view-head', h('h1', 'Functions'), h('div.toolbar', search, h('label.check', system, ' show system functions'))),
      h('div.split', table, detail))

    const filter = () => {
      const q = search.value.toLowerCase()
      table.setRows(all.filter((f) => !q || f.function_id.toLowerCase().includes(q) || (f.worker_name ?? '').toLowerCase().includes(q))
        .map((f) => ({ ...f, __key: f.function_id })))
    }
    async function refresh() {
      all = (await api(`functions?internal=${system.checked ? 1 : 0}`)).functions
      filter()
    }
    async function open(id) {
      clear(detail, h('p.muted', 'loading…'))
      const info = await api('function', { function_id: id })
      const schema = info.request_schema ?? info.metadata?.triggers?.find((t) => t.bodySchema)?.bodySchema
      const editor = jsonEditor(schema ? exampleFor(schema) : {}, { rows: 10, name: 'payload' })
      const result = h('div.result')
      const invoke = async () => {
        let input
        try { input = editor.value() } catch (e) { clear(result, h('p.error', `invalid JSON: ${e.message}`)); return }
        clear(result, h('p.muted', 'invoking…'))
        const r = await api('invoke', { function_id: id, input })
        clear(result, h('div.result-head', r.ok ? badge('ok', 'good') : badge(r.error.code, 'bad'), ` ${fmt.ms(r.duration_ms)}`),
          h('pre.code', { 'data-result': id }, r.ok ? fmt.json(r.result) : r.error.message))
        refresh()
      }
      clear(detail, h('h3', h('code', id)), info.description ? h('p', info.description) : null,
        h('dl', h('dt', 'worker'), h('dd', info.worker_name ?? '–'),
          info.metadata?.filePath ? [h('dt', 'file'), h('dd', h('code', info.metadata.filePath))] : null,
          h('dt', 'triggers'), h('dd', (info.registered_triggers ?? []).map((t) => h('div', badge(t.trigger_type), ' ', h('code', fmt.short(t.config, 60)))))),
        h('h4', 'Invoke'), schema ? h('p.muted.small', 'Payload prefilled from the request schema.') : null, editor,
        h('div.actions', h('button.primary', { onclick: invoke, 'data-action': 'invoke' }, 'Invoke')), result,
        schema ? h('details', h('summary', 'Request schema'), h('pre.code', fmt.json(schema))) : null,
        info.metadata ? h('details', h('summary', 'Metadata'), h('pre.code', fmt.json(info.metadata))) : null)
    }
    search.addEventListener('input', filter)
    system.addEventListener('change', refresh)
    refresh().then(() => { if (params.id) open(params.id) })
    const timer = setInterval(refresh, 5000)
    return { unmount: () => clearInterval(timer), table: () => table, refresh }
  },
}
