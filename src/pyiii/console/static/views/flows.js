// Flows: steps and the topics connecting them, drawn as SVG from registration metadata.
import { api, clear, h } from '../lib.js'

const NS = 'http://www.w3.org/2000/svg'
const W = 230, H = 70, GAP_Y = 28, PAD = 24
const LABEL_MAX = 40 // characters of an edge label; longer topics are cut (whole in the tooltip)
const CHAR_W = 6.6 // px per character of an 11px label

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag)
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, v)
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)))
  return el
}

/** Layered layout: a node's column is its longest path from a source (cycles are cut). */
function labelOf(topic) { return topic.length > LABEL_MAX ? topic.slice(0, LABEL_MAX - 1) + '…' : topic }

/** Columns are spaced so the longest edge label fits between them (labels used to be cut by nodes). */
function gapFor(flow) {
  const longest = Math.max(0, ...flow.edges.map((e) => labelOf(e.topic ?? '').length))
  return Math.max(90, Math.ceil(longest * CHAR_W) + 36)
}

function layout(flow) {
  const GAP_X = gapFor(flow)
  const rank = new Map(flow.nodes.map((n) => [n.id, 0]))
  for (let pass = 0; pass < flow.nodes.length; pass++) {
    let changed = false
    for (const e of flow.edges) {
      if (e.from === e.to) continue
      const want = rank.get(e.from) + 1
      if (want > rank.get(e.to) && want < flow.nodes.length) { rank.set(e.to, want); changed = true }
    }
    if (!changed) break
  }
  const columns = []
  for (const n of flow.nodes) (columns[rank.get(n.id)] ??= []).push(n)
  const pos = new Map()
  const linked = new Set(flow.edges.flatMap((e) => [e.from, e.to]))
  const order = (a, b) => (linked.has(b.id) - linked.has(a.id)) || a.type.localeCompare(b.type) || a.name.localeCompare(b.name)
  columns.forEach((col, x) => col.sort(order)
    .forEach((n, y) => pos.set(n.id, { x: PAD + x * (W + GAP_X), y: PAD + y * (H + GAP_Y) })))
  const width = PAD * 2 + columns.length * (W + GAP_X) - GAP_X
  // a backward edge curves up to 80 px below its nodes, with its label: leave room for it
  const back = flow.edges.some((e) => e.from !== e.to && rank.get(e.to) <= rank.get(e.from))
  const height = PAD * 2 + Math.max(1, ...columns.map((c) => c.length)) * (H + GAP_Y) - GAP_Y + (back ? 80 : 0)
  return { pos, width, height, gap: GAP_X }
}

function triggerSummary(node) {
  if (node.type === 'topic') return 'topic (no subscriber yet)'
  return node.triggers.map((t) => t.type === 'http' ? `${t.method} ${t.path}` : t.type === 'cron' ? `cron ${t.expression}`
    : t.topic ? `${t.type} ${t.topic}` : t.type).join(' · ') || 'no trigger (noop)'
}

function drawFlow(flow, onPick) {
  const { pos, width, height } = layout(flow)
  const labels = []
  const svg = s('svg', { class: 'flow', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': `flow ${flow.id}` })
  svg.append(s('defs', {}, s('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
    s('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'arrowhead' }))))
  flow.edges.forEach((e, i) => {
    const a = pos.get(e.from), b = pos.get(e.to)
    if (!a || !b) return
    const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2
    const dx = Math.max(40, (x2 - x1) / 2)
    const back = x2 <= x1
    const d = back ? `M ${x1} ${y1} C ${x1 + 60} ${y1 + 80}, ${x2 - 60} ${y2 + 80}, ${x2} ${y2}`
      : `M ${x1} ${y1} C ${x1 + dx} ${y1}, ${x2 - dx} ${y2}, ${x2} ${y2}`
    svg.append(s('path', { d, class: `edge${e.virtual ? ' virtual' : ''}`, 'marker-end': 'url(#arrow)', 'data-topic': e.topic }))
    const lx = (x1 + x2) / 2, ly = Math.max(12, (y1 + y2) / 2 - 6 - (i % 2) * 12 + (back ? 60 : 0))
    labels.push(s('text', { x: lx, y: ly, class: 'edge-label', 'text-anchor': 'middle', 'data-label': e.topic }, labelOf(e.topic), s('title', {}, e.topic)))
  })
  for (const n of flow.nodes) {
    const p = pos.get(n.id)
    const g = s('g', { class: `node type-${n.type}${n.ghost ? ' ghost' : ''}`, transform: `translate(${p.x},${p.y})`, 'data-step': n.id, tabindex: 0 })
    g.append(s('rect', { width: W, height: H, rx: 8, class: 'box' }), s('rect', { width: 6, height: H, rx: 3, class: 'stripe' }),
      s('text', { x: 16, y: 22, class: 'node-title' }, n.name.length > 26 ? n.name.slice(0, 25) + '…' : n.name),
      s('text', { x: W - 10, y: 22, class: 'node-kind', 'text-anchor': 'end' }, n.type + (n.language ? ` · ${n.language === 'python' ? 'py' : n.language.slice(0, 2)}` : '')),
      s('text', { x: 16, y: 42, class: 'node-sub' }, triggerSummary(n).slice(0, 34)),
      s('text', { x: 16, y: 60, class: 'node-file' }, (n.filePath ?? '').slice(-36) + (n.ghost ? ' (other flow)' : '')))
    g.append(s('title', {}, `${n.name}\n${n.description ?? ''}\n${n.filePath ?? ''}`))
    g.addEventListener('click', () => onPick(n))
    svg.append(g)
  }
  svg.append(...labels) // on top of the nodes: a label is never hidden behind a box
  return svg
}

export default {
  id: 'flows', title: 'Flows', key: 'd', icon: '⇄',
  mount(root, { go, params }) {
    let selectedFlow = params.flow ?? null
    let last = ''
    const tabs = h('div.tabs')
    const canvas = h('div.canvas')
    const detail = h('div.detail-pane.flow-detail', h('p.muted', 'Click a step to see its triggers and topics.'))
    const status = h('span.muted.small')
    clear(root, h('header.view-head', h('h1', 'Flows'), h('p.muted', 'Steps and the topics connecting them, from registration metadata (Python steps included); updates live as workers come and go.'), status),
      tabs, h('div.split', canvas, detail))

    const pick = (n) => clear(detail, h('h3', n.name), n.description ? h('p', n.description) : null,
      h('dl', h('dt', 'type'), h('dd', n.type), h('dt', 'file'), h('dd', h('code', n.filePath ?? '–')),
        h('dt', 'flows'), h('dd', (n.flows ?? []).join(', ') || '–'), h('dt', 'triggers'), h('dd', triggerSummary(n)),
        h('dt', 'enqueues'), h('dd', (n.enqueues ?? []).join(', ') || '–'), h('dt', 'virtual'), h('dd', (n.virtualEnqueues ?? []).join(', ') || '–')),
      (n.functions ?? []).map((f) => h('button.small', { onclick: () => go('functions', { id: f }) }, `open ${f.split('::').slice(0, 2).join('::')}`)))

    async function refresh() {
      try {
        const data = await api('flows')
        const key = JSON.stringify(data)
        status.textContent = `updated ${new Date().toLocaleTimeString()}`
        if (key === last) return
        last = key
        if (!data.flows.length) {
          clear(tabs); clear(canvas, h('p.empty', 'No steps registered. Steps register functions whose metadata has a filePath.'))
          return
        }
        if (!data.flows.some((f) => f.id === selectedFlow)) { // default: the biggest flow
          selectedFlow = data.flows.reduce((a, b) => (b.nodes.length > a.nodes.length ? b : a)).id
        }
        clear(tabs, data.flows.map((f) => h(`button.tab${f.id === selectedFlow ? '.active' : ''}`, {
          'data-flow': f.id,
          onclick: () => { selectedFlow = f.id; last = ''; refresh() },
        }, `${f.id} `, h('span.count', f.nodes.filter((n) => !n.ghost && n.type !== 'topic').length))))
        const flow = data.flows.find((f) => f.id === selectedFlow)
        clear(canvas, drawFlow(flow, pick), h('div.legend', ['http', 'queue', 'cron', 'state', 'stream', 'noop', 'topic'].map((t) => h(`span.legend-item.type-${t}`, t)),
          h('span.legend-item.dashed', 'virtual')))
      } catch (e) { status.textContent = `error: ${e.message}` }
    }
    refresh()
    const timer = setInterval(refresh, 2000) // workers come and go: poll, redraw only on change
    return { unmount: () => clearInterval(timer), refresh }
  },
}
