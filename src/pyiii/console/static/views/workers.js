// Workers: every connected worker, its namespace, runtime, pid, uptime and invocation counts.
import { api, badge, clear, fmt, h, localColumn, namespaceFilter, nsCell, nsOf, pagedTable } from '../lib.js'

export default {
  id: 'workers', title: 'Workers', key: 'w', icon: '⚙',
  mount(root, { go, params }) {
    const search = h('input', { type: 'search', placeholder: 'Search workers  (/)' })
    const namespace = namespaceFilter('workers', params, () => refresh())
    let all = []
    const table = pagedTable({
      name: 'workers',
      columns: [
        { title: 'Name', render: (w) => h('strong', w.name) },
        { title: 'Namespace', className: 'nowrap', render: (w) => nsCell(w.namespace) },
        { title: 'Runtime', render: (w) => badge(w.runtime ?? '?', w.runtime === 'engine' ? '' : 'good') },
        { title: 'Version', render: (w) => w.version ?? '–' },
        { title: 'PID', className: 'num', render: (w) => w.pid ?? '–' },
        { title: 'Connected', className: 'nowrap', render: (w) => h('span', { title: fmt.dateTime(w.connected_at_ms) }, fmt.ago(w.connected_at_ms)) },
        { title: 'Functions', className: 'num', render: (w) => w.function_count ?? 0 },
        { title: 'In flight', className: 'num', render: (w) => w.active_invocations ?? 0 },
        { title: 'Calls', className: 'num', render: (w) => fmt.num(w.invocations) },
        localColumn,
        { title: 'Errors', className: 'num', render: (w) => w.errors ? badge(fmt.num(w.errors), 'bad') : '0' },
        { title: 'Status', render: (w) => badge(w.status, w.status === 'connected' || w.status === 'available' ? 'good' : 'warn') },
      ],
      onSelect: (w) => go('functions', { q: w.name, ns: nsOf(w) }),
    })
    const render = () => {
      const q = search.value.toLowerCase()
      table.setRows(all.filter((w) => !q || JSON.stringify(w).toLowerCase().includes(q)).map((w) => ({ ...w, __key: w.id })))
    }
    clear(root, h('header.view-head', h('h1', 'Workers'), h('div.toolbar', search, namespace), h('p.muted', 'Enter opens the worker\'s functions.')), table)
    async function refresh() {
      const ns = namespace.query()
      const r = await api(`workers${ns ? '?' + ns : ''}`)
      all = r.workers
      namespace.setNamespaces(r.namespaces ?? [])
      render()
    }
    search.addEventListener('input', render)
    refresh()
    const timer = setInterval(refresh, 3000)
    return { unmount: () => clearInterval(timer), table: () => table, refresh }
  },
}
