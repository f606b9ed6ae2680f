// Trigger types: what kinds of trigger the connected workers offer.
import { api, clear, h, pagedTable } from '../lib.js'

export default {
  id: 'types', title: 'Trigger types', key: 'y', icon: '◇',
  mount(root) {
    const table = pagedTable({
      name: 'trigger-types',
      columns: [
        { title: 'Type', render: (t) => h('code', t.id) },
        { title: 'Worker', render: (t) => t.worker_name ?? '–' },
        { title: 'Description', render: (t) => t.description ?? '' },
      ],
    })
    clear(root, h('header.view-head', h('h1', 'Trigger types'), h('p.muted', 'Register a trigger of one of these types to make it call a function.')), table)
    async function refresh() { table.setRows((await api('trigger-types')).triggers.map((t) => ({ ...t, __key: t.id }))) }
    refresh()
    return { table: () => table, refresh }
  },
}
