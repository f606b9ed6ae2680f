// Observers (iii 0.25 observe): who watches which function, into which target, in what state.
// Fed by engine::observers::list; an engine without it gets an empty state that says so.
import { api, badge, clear, fmt, h, namespaceFilter, nsCell, nsOf, pagedTable, shortId } from '../lib.js'

const STATE_KIND = { active: 'good', pending: 'warn', suspended: 'warn', error: 'bad', disposed: '' }

/** A function reference of a row, in whichever shape the engine sends: an id, or {function_id, namespace}. */
function ref(value, namespace) {
  if (value && typeof value === 'object') return { id: value.function_id ?? value.id ?? '', ns: value.namespace ?? namespace }
  return { id: value ?? '', ns: namespace }
}

function refCell({ id, ns }) {
  return h('span.nowrap', h('code.clip', { title: id }, String(id || '–')), ns && ns !== 'default' ? [' ', nsCell(ns)] : null)
}

const source = (o) => ref(o.source ?? o.source_function_id ?? o.function_id, o.source_namespace ?? nsOf(o))
const target = (o) => ref(o.target ?? o.target_function_id, o.target_namespace ?? nsOf(o))
const observing = (o) => o.worker_name ?? o.observing_worker?.name ?? o.observing_worker_name ?? o.observing_worker_id ?? o.worker_id

export default {
  id: 'observers', title: 'Observers', key: 'b', icon: '◎',
  mount(root, { params }) {
    const namespace = namespaceFilter('observers', params, () => refresh())
    const status = h('p.muted', { 'data-observers-status': '' })
    const table = pagedTable({
      name: 'observers', empty: 'No observers.',
      columns: [
        { title: 'Observer', className: 'nowrap', render: (o) => shortId(String(o.id ?? o.observer_id ?? ''), 10) },
        { title: 'Namespace', className: 'nowrap', render: (o) => nsCell(o.namespace) },
        { title: 'Source', className: 'clip-cell', render: (o) => refCell(source(o)) },
        { title: 'Target', className: 'clip-cell', render: (o) => refCell(target(o)) },
        { title: 'State', render: (o) => badge(String(o.state ?? '?'), STATE_KIND[o.state] ?? '') },
        { title: 'Fires', className: 'num', render: (o) => fmt.num(o.fires) },
        { title: 'Observing worker', className: 'nowrap', render: (o) => String(observing(o) ?? '–') },
      ],
    })
    clear(root, h('header.view-head', h('h1', 'Observers'), h('div.toolbar', namespace), status), table)
    async function refresh() {
      try {
        const ns = namespace.query()
        const r = await api(`observers${ns ? '?' + ns : ''}`)
        namespace.setNamespaces(r.namespaces ?? [])
        table.setRows(r.observers.map((o, i) => ({ ...o, __key: `${nsOf(o)}\u0000${o.id ?? o.observer_id ?? i}` })))
        status.dataset.observersStatus = r.available ? 'available' : 'unavailable'
        status.textContent = r.available
          ? 'Functions watched by other functions (iii 0.25 observe), from engine::observers::list.'
          : 'This engine has no engine::observers::list, so it serves no observers (iii 0.25 observe): nothing to show.'
      } catch (e) { status.textContent = `error: ${e.message}` }
    }
    refresh()
    const timer = setInterval(refresh, 3000)
    return { unmount: () => clearInterval(timer), table: () => table, refresh }
  },
}
