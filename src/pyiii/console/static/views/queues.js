// Queues: depth and in-flight per topic; dead letters with redrive (one or all) and discard.
import { api, badge, clear, clip, fmt, h, nsCell, pagedTable, shortId, toast } from '../lib.js'

const DLQ_PAGE = 50

export default {
  id: 'queues', title: 'Queues', key: 'q', icon: '⊞',
  mount(root, { go }) {
    let dlqTopic = null
    let dlqOffset = 0
    const status = h('span.muted.small')
    const dlqList = h('div.tabs')
    const dlqHead = h('h3', 'Dead letters')
    const dlqPager = h('div.pager')
    const topics = pagedTable({
      name: 'queues',
      columns: [
        { title: 'Topic', className: 'nowrap', render: (t) => h('code', t.name) },
        { title: 'Broker', render: (t) => badge(t.broker_type ?? '–') },
        { title: 'Subscribers', className: 'num', render: (t) => t.subscriber_count ?? t.stats?.consumer_count ?? 0 },
        { title: 'Namespaces', className: 'nowrap', render: (t) => [...new Set((t.subscribers ?? []).map((s) => s.namespace))].sort().join(', ') || '–' },
        { title: 'Depth', className: 'num', render: (t) => fmt.num(t.stats?.depth) },
        { title: 'Waiting', className: 'num', render: (t) => fmt.num(t.stats?.waiting) },
        { title: 'Delayed', className: 'num', render: (t) => fmt.num(t.stats?.delayed) },
        { title: 'In flight', className: 'num', render: (t) => fmt.num(t.stats?.in_flight) },
        { title: 'Dead letters', className: 'num', render: (t) => t.stats?.dlq_depth ? badge(fmt.num(t.stats.dlq_depth), 'bad') : '0' },
        { title: '', render: (t) => h('button.small', { onclick: (e) => { e.stopPropagation(); go('triggers', { topic: t.name }) } }, 'Publish…') },
      ],
      onSelect: (t) => { if (t.stats?.dlq_depth) openDlq(t.name) },
    })
    const act = async (path, body, done) => {
      try { const r = await api(path, body); toast(done(r)); await refresh() } catch (e) { toast(e.message, 'bad') }
    }
    const messages = pagedTable({
      name: 'dlq', pageSize: DLQ_PAGE, empty: 'No dead letters.',
      columns: [
        { title: 'Failed', className: 'nowrap', render: (m) => h('span', { title: fmt.dateTime((m.failed_at ?? 0) * 1000) }, fmt.time((m.failed_at ?? 0) * 1000)) },
        { title: 'Function', className: 'clip-cell narrow', render: (m) => h('code.clip', { title: m.function_id ?? m.queue ?? '', 'data-function': m.function_id ?? '' }, m.function_id ?? '–') },
        // iii 0.23+: a subscriber queue outside default names its namespace
        { title: 'Namespace', className: 'nowrap', when: (rows) => rows.some((m) => m.namespace), render: (m) => nsCell(m.namespace) },
        { title: 'Message', className: 'nowrap', render: (m) => shortId(m.id, 8) },
        { title: 'Retries', className: 'num', render: (m) => m.retries ?? 0 },
        { title: 'Error', className: 'clip-cell narrow', render: (m) => h('span.error.clip', { title: String(m.error?.message ?? m.error ?? '') }, String(m.error?.message ?? m.error ?? '')) },
        { title: 'Payload', className: 'clip-cell narrow', render: (m) => h('span.muted', clip(fmt.short(m.payload, 200))) },
        { title: '', render: (m) => h('span.nowrap',
          h('button.small', { 'data-action': 'redrive', onclick: (e) => { e.stopPropagation(); act('dlq/redrive', { topic: dlqTopic, message_id: m.id }, () => `redrove ${m.id}`) } }, '↻ Redrive'), ' ',
          h('button.small.danger', { 'data-action': 'discard', onclick: (e) => { e.stopPropagation(); if (confirm('Discard this message?')) act('dlq/discard', { topic: dlqTopic, message_id: m.id }, () => `discarded ${m.id}`) } }, '✕ Discard')) },
      ],
    })
    messages.querySelector('.pager').hidden = true // the engine pages dead letters
    clear(root, h('header.view-head', h('h1', 'Queues'), status), topics,
      h('div.card', h('div.row', dlqHead, h('button.small', { 'data-action': 'redrive-all', onclick: () => dlqTopic && act('dlq/redrive', { topic: dlqTopic }, (r) => `redrove ${r.redriven} message(s)`) }, '↻ Redrive all')),
        dlqList, messages, dlqPager))

    async function openDlq(topic, offset = 0) {
      dlqTopic = topic
      dlqOffset = Math.max(0, offset)
      const r = await api('dlq/messages', { topic, offset: dlqOffset, limit: DLQ_PAGE })
      messages.setRows(r.messages.map((m) => ({ ...m, __key: m.id })))
      dlqHead.textContent = `Dead letters · ${topic}`
      clear(dlqPager, h('button.small', { disabled: dlqOffset === 0, onclick: () => openDlq(topic, dlqOffset - DLQ_PAGE) }, '‹'),
        h('span.page-info', `${dlqOffset + (r.messages.length ? 1 : 0)}–${dlqOffset + r.messages.length}`),
        h('button.small', { disabled: r.messages.length < DLQ_PAGE, onclick: () => openDlq(topic, dlqOffset + DLQ_PAGE) }, '›'))
    }
    async function refresh() {
      try {
        const r = await api('queues')
        topics.setRows(r.topics.map((t) => ({ ...t, __key: t.name })))
        clear(dlqList, r.dlq.length ? r.dlq.map((d) => h(`button.tab${d.topic === dlqTopic ? '.active' : ''}`, { onclick: () => openDlq(d.topic), 'data-dlq': d.topic }, `${d.topic} `, h('span.count', d.message_count)))
          : h('span.muted', 'No dead-letter queues.'))
        if (!dlqTopic && r.dlq.length) dlqTopic = r.dlq[0].topic
        if (dlqTopic) await openDlq(dlqTopic, dlqOffset)
        status.textContent = `updated ${new Date().toLocaleTimeString()}`
      } catch (e) { status.textContent = `error: ${e.message}` }
    }
    refresh()
    const timer = setInterval(refresh, 2000)
    return { unmount: () => clearInterval(timer), table: () => topics, refresh }
  },
}
