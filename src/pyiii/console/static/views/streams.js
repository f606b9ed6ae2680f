// Streams: browse streams, groups and items; watch a group live over the stream WebSocket.
import { StreamClient } from '/lib/stream-client.js'
import { api, badge, clear, fmt, h, pagedTable } from '../lib.js'

export default {
  id: 'streams', title: 'Streams', key: 'm', icon: '≈',
  mount(root) {
    let client = null
    let sub = null
    const events = []
    const list = h('ul.list.streams')
    const head = h('h3', 'Items')
    const conn = badge('idle')
    const eventBox = h('div.events')
    const table = pagedTable({
      name: 'stream-items', pageSize: 50,
      columns: [
        { title: 'Item id', render: (r) => h('code', r.id) },
        { title: 'Value', render: (r) => h('span.muted', fmt.short(r.value, 120)) },
      ],
      onSelect: (r) => clear(eventBox, h('h4', r.id), h('pre.code', fmt.json(r.value))),
    })
    clear(root, h('header.view-head', h('h1', 'Streams'), h('p.muted', 'Groups are watched live through the console\'s /ws/streams proxy.')),
      h('div.three', h('div.pane', h('h3', 'Streams & groups'), list), h('div.pane', h('div.row', head, conn), table), h('div.pane', h('h3', 'Live events'), eventBox)))

    function watch(stream, group) {
      sub?.close()
      events.length = 0
      head.textContent = `${stream} / ${group}`
      list.querySelectorAll('li').forEach((li) => li.classList.toggle('active', li.dataset.key === `${stream}/${group}`))
      if (!client) {
        client = new StreamClient(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws/streams`)
        client.onConnectionState((s) => { conn.textContent = s; conn.className = `badge ${s === 'open' ? 'good' : 'warn'}` })
      }
      const current = client.subscribeGroup(stream, group, (_values, change) => {
        // the subscription keeps id -> value; the callback's array has values only
        table.setRows([...current.items.entries()].map(([id, value]) => ({ id, value, __key: id })))
        if (change?.type) {
          events.unshift({ at: Date.now(), type: change.type, id: change.id, data: change.data })
          events.length = Math.min(events.length, 200)
          clear(eventBox, events.map((e) => h('div.event', { 'data-event': e.type }, h('span.muted.small', fmt.time(e.at)), ' ', badge(e.type), ' ', h('code', e.id ?? ''), h('div.muted.small', fmt.short(e.data, 120)))))
        }
      })
      sub = current
    }
    async function refresh() {
      const streams = (await api('streams')).streams
      clear(list, streams.length ? streams.map((s) => h('li.stream', h('strong', s.id), ' ', badge(s.type),
        h('ul', (s.groups ?? []).map((g) => h('li', { 'data-key': `${s.id}/${g}`, onclick: () => watch(s.id, g) }, g))))) : h('li.muted', 'No streams yet.'))
      const first = streams.find((s) => s.groups?.length)
      if (!sub && first) watch(first.id, first.groups[0])
    }
    refresh()
    const timer = setInterval(refresh, 5000)
    return { unmount: () => { clearInterval(timer); sub?.close(); client?.close() }, table: () => table, refresh }
  },
}
